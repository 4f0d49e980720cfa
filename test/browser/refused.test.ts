/**
 * The listener page tells the truth (issue 10 item 5), in real Chromium
 * against the real app: a refused link (expired, tampered, another
 * campaign's) shows the server's reason and stops retrying; a link that
 * expires while the page listens is closed by the server with its reason;
 * while the server is down the page finishes at most the sentence it is
 * sounding, then waits, and after the restart follows the station.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { TokenSigner } from '../../src/auth';
import type {} from '../../web/src/debug-hook';
import { startAppProcess } from './support/app-process';
import { chromiumAvailability } from './support/browser';
import { useBrowserSuite } from './support/suite';
import { openPage, tapToStart, testIdText, waitForConnection, waitForSignal } from './support/page-probe';

const chromium = chromiumAvailability();
const suite = useBrowserSuite(chromium.available);
const { api, pages } = suite;

/** Signs tokens as the app does: its secret lives in its data dir. */
async function signer(): Promise<TokenSigner> {
  return new TokenSigner((await readFile(path.join(suite.app.dataDir, 'token-secret'), 'utf8')).trim());
}

/** Opens a listener page without waiting for it to go live; counts its WebSocket attempts. */
async function listen(
  token: string,
  campaign = suite.app.campaignId,
): Promise<{ page: Page; attempts: () => number }> {
  const page = await suite.browser.newPage();
  pages.push(page);
  let attempts = 0;
  page.on('websocket', () => attempts++);
  await page.goto(`${suite.app.baseUrl}/listen/${campaign}?token=${encodeURIComponent(token)}`, {
    waitUntil: 'load',
  });
  return { page, attempts: () => attempts };
}

describe.skipIf(!chromium.available)('listener page: refused links and outages (Chromium)', () => {
  it("shows the server's reason for an expired, tampered or other campaign's link, and stops retrying", async () => {
    const tokens = await signer();
    const good = suite.app.playerToken;
    const cases: [what: string, token: string, campaign: string | undefined, reason: RegExp][] = [
      [
        'expired',
        tokens.sign(suite.app.campaignId, 'player', 60, Date.now() - 3_600_000),
        undefined,
        /expired/,
      ],
      ['tampered', good.slice(0, -4) + (good.endsWith('AAAA') ? 'BBBB' : 'AAAA'), undefined, /not valid/],
      ['another campaign', tokens.sign('elsewhere', 'player', 3600), undefined, /another campaign/],
    ];
    for (const [what, token, campaign, reason] of cases) {
      const { page, attempts } = await listen(token, campaign);
      await waitForConnection(page, 'refused', 20_000);
      expect(await testIdText(page, 'connection-state'), what).toBe('Link refused');
      expect(await testIdText(page, 'fatal'), what).toMatch(reason);
      expect(await testIdText(page, 'fatal'), what).toMatch(/will not retry/);
      const tried = attempts();
      // The first retry would come within 0.5 s: well past it, still refused, no new attempt.
      await page.waitForTimeout(2_000);
      expect(attempts(), what).toBe(tried);
      expect(await page.getByTestId('connection-state').getAttribute('data-state')).toBe('refused');
      console.log(
        `[browser] ${what} link: refused after ${tried} attempt(s): "${await testIdText(page, 'fatal')}"`,
      );
    }
  });

  it('a link that expires while listening is closed with the reason', async () => {
    const tokens = await signer();
    const { page } = await listen(tokens.sign(suite.app.campaignId, 'player', 4, Date.now()));
    await waitForConnection(page, 'live', 20_000);
    await waitForConnection(page, 'refused', 20_000);
    expect(await testIdText(page, 'fatal')).toBe(
      'The link has expired; ask the DM for a fresh one. This page will not retry.',
    );
  });

  it('while the server is down it finishes the sentence it sounds, then waits; then follows the station', async () => {
    await api.reset();
    const page = await suite.browser.newPage();
    pages.push(page);
    await openPage(page, suite.app.links.listenUrl);
    await tapToStart(page);
    const sentences = [
      'One: the gate opens.',
      'Two: the hall is dark.',
      'Three: a candle gutters.',
      'Four: someone coughs.',
      'Five: the floor creaks.',
      'Six: a door slams.',
      'Seven: silence again.',
    ];
    const id = await api.narrate(sentences.join(' '));
    await waitForSignal(page, id, 0.01);
    // Every sentence stored, and the page on the second one: plenty scheduled ahead.
    await page.waitForFunction(
      (rid) => {
        const h = window.__bardcast!;
        const entries = (h.schedule as { entries: { request_id: string; sequence_number: number }[] })
          .entries;
        return entries.some((e) => e.request_id === rid && e.sequence_number === 6) && h.captions.length >= 2;
      },
      id,
      { timeout: 30_000 },
    );
    const { port, dataDir } = suite.app;
    const before = await page.evaluate(() => ({
      played: window.__bardcast!.playedChunkIds.length,
      heard: window.__bardcast!.captions.at(-1)?.chunk_id ?? null,
    }));
    suite.app.child.kill('SIGKILL'); // a crash: no goodbye to the page
    await waitForConnection(page, 'reconnecting', 15_000);
    // Held: at most the chunk that was sounding stays scheduled.
    const held = await page.evaluate(() =>
      window.__bardcast!.scheduled.filter((c) => c.status === 'scheduled' || c.status === 'loading'),
    );
    expect(held.length).toBeLessThanOrEqual(1);
    // Silence once that chunk is over (a sentence here lasts under 3 s): nothing runs ahead.
    await page.waitForFunction(
      () => window.__bardcast!.scheduled.every((c) => c.status !== 'scheduled'),
      undefined,
      {
        timeout: 10_000,
      },
    );
    await page.waitForTimeout(3_000);
    const during = await page.evaluate(() => ({
      played: window.__bardcast!.playedChunkIds.length,
      level: window.__bardcast!.level(),
      captions: window.__bardcast!.captions.map((c) => c.chunk_id),
    }));
    expect(during.played - before.played).toBeLessThanOrEqual(1);
    expect(during.level).toBe(0);
    console.log(
      `[browser] server down: ${during.played - before.played} more chunk(s) finished on the page, then silence`,
    );

    suite.app = await startAppProcess({ port, dataDir, removeDataDir: true });
    await waitForConnection(page, 'live', 60_000);
    // The station resumed the request at its first unplayed chunk; the page follows it to the end.
    await api.waitForQueue(
      (q) => q.history.find((r) => r.request_id === id)?.status === 'PLAYED',
      90_000,
      'the interrupted request played to its end',
    );
    const after = await page.evaluate(() => window.__bardcast!.captions.map((c) => c.text));
    expect(after.at(-1)).toBe(sentences.at(-1));
  }, 180_000);
});
