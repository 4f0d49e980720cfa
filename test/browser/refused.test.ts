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

/** Opens a listener page without waiting for it to go live; the page counts its WebSocket attempts. */
async function listen(token: string, campaign = suite.app.campaignId): Promise<{ page: Page }> {
  const page = await suite.browser.newPage();
  pages.push(page);
  // Counted in the page itself, so a count read after a page timer includes every attempt before it.
  await page.addInitScript(() => {
    const Native = window.WebSocket;
    const w = window as unknown as { __wsAttempts: number };
    w.__wsAttempts = 0;
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        w.__wsAttempts++;
      }
    };
  });
  await page.goto(`${suite.app.baseUrl}/listen/${campaign}?token=${encodeURIComponent(token)}`, {
    waitUntil: 'load',
    timeout: 60_000,
  });
  return { page };
}

/** WebSocket attempts the page made so far. */
function attempts(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { __wsAttempts: number }).__wsAttempts);
}

/**
 * Resolves after `ms` on the page's own timers: every page timer due before
 * then (a pending reconnect included) has run by the time it resolves, however
 * late a busy machine runs them.
 */
async function pageTimerElapsed(page: Page, ms: number): Promise<void> {
  await page.evaluate((delay) => new Promise<void>((resolve) => setTimeout(resolve, delay)), ms);
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
      const { page } = await listen(token, campaign);
      await waitForConnection(page, 'refused', 60_000);
      expect(await testIdText(page, 'connection-state'), what).toBe('Link refused');
      expect(await testIdText(page, 'fatal'), what).toMatch(reason);
      expect(await testIdText(page, 'fatal'), what).toMatch(/will not retry/);
      const tried = await attempts(page);
      // A retry after one or two failures is due within 1 s: once the page's own timers
      // are 2 s past, any such retry would have run. Still refused, no new attempt.
      await pageTimerElapsed(page, 2_000);
      expect(await attempts(page), what).toBe(tried);
      expect(await page.getByTestId('connection-state').getAttribute('data-state')).toBe('refused');
      console.log(
        `[browser] ${what} link: refused after ${tried} attempt(s): "${await testIdText(page, 'fatal')}"`,
      );
    }
  }, 180_000);

  it('a link that expires while listening is closed with the reason', async () => {
    const tokens = await signer();
    // The page must be live before the link expires. A busy machine can take longer than a
    // short lifetime to load the page and connect: then the handshake itself is refused,
    // which proves nothing here, so the lifetime doubles and the page is opened again.
    for (const lifetimeSec of [4, 8, 16, 32]) {
      const { page } = await listen(tokens.sign(suite.app.campaignId, 'player', lifetimeSec, Date.now()));
      await waitForConnection(page, 'refused', (lifetimeSec + 60) * 1000);
      const history = await page.evaluate(() => window.__bardcast!.connectionHistory);
      const live = history.indexOf('live');
      if (live === -1) {
        console.log(
          `[browser] a ${lifetimeSec} s link expired before the page was live; trying a longer one`,
        );
        continue;
      }
      // Live, then refused by the server's close (no reconnect attempt in between).
      expect(history.slice(live)).toEqual(['live', 'refused']);
      expect(await testIdText(page, 'fatal')).toBe(
        'The link has expired; ask the DM for a fresh one. This page will not retry.',
      );
      return;
    }
    expect.fail('the page never went live before its link expired, even with a 32 s link');
  }, 240_000);

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
    // What the page had buffered ahead (what a page running ahead would go on to play).
    const buffered = await page.evaluate(() =>
      (
        window.__bardcast!.schedule as {
          entries: { chunk_id: string; starts_at: number; duration_sec: number }[];
        }
      ).entries.map((e) => ({ chunk_id: e.chunk_id, ends_at: e.starts_at + e.duration_sec * 1000 })),
    );
    suite.app.child.kill('SIGKILL'); // a crash: no goodbye to the page
    // The moment the page notices, in the same evaluation: what it kept and what it had played.
    const atLoss = (await (
      await page.waitForFunction(
        () => {
          const h = window.__bardcast!;
          if (h.state === 'live') return false;
          return {
            now: h.serverNow(),
            held: h.scheduled
              .filter((c) => c.status === 'scheduled' || c.status === 'loading')
              .map((c) => c.chunk_id),
            kept: (h.schedule as { entries: { chunk_id: string }[] }).entries.map((e) => e.chunk_id),
            played: h.playedChunkIds,
          };
        },
        undefined,
        { timeout: 30_000, polling: 20 },
      )
    ).jsonValue()) as { now: number; held: string[]; kept: string[]; played: string[] };
    // Held: at most the chunk that was sounding stays scheduled.
    expect(atLoss.held.length).toBeLessThanOrEqual(1);
    expect(atLoss.kept.length).toBeLessThanOrEqual(1);
    // The chunks it would have run ahead into: buffered, not kept, not over yet.
    const ahead = buffered.filter(
      (e) =>
        !atLoss.kept.includes(e.chunk_id) && !atLoss.played.includes(e.chunk_id) && e.ends_at > atLoss.now,
    );
    expect(ahead.length, 'chunks buffered ahead when the server went down').toBeGreaterThan(0);
    const firstAheadEnds = Math.min(...ahead.map((e) => e.ends_at));
    // Wait on the page's own station clock until the first of them would have been over
    // (plus a few ticks for its `ended`), and the kept chunk is done: nothing may have played.
    await page.waitForFunction(
      (until) => {
        const h = window.__bardcast!;
        return (
          h.serverNow() > until &&
          h.scheduled.every((c) => c.status !== 'scheduled' && c.status !== 'loading')
        );
      },
      firstAheadEnds + 1_000,
      { timeout: 60_000 },
    );
    const during = await page.evaluate(() => ({
      played: window.__bardcast!.playedChunkIds,
      level: window.__bardcast!.level(),
    }));
    const playedSince = during.played.filter((c) => !atLoss.played.includes(c));
    for (const c of playedSince) expect(atLoss.kept, 'only the chunk kept played on').toContain(c);
    expect(playedSince.length).toBeLessThanOrEqual(1);
    expect(during.played.filter((c) => ahead.some((e) => e.chunk_id === c))).toEqual([]);
    expect(during.level).toBe(0);
    console.log(
      `[browser] server down: ${playedSince.length} more chunk(s) finished on the page, then silence past the end of the next of ${ahead.length} buffered chunk(s)`,
    );

    suite.app = await startAppProcess({ port, dataDir, removeDataDir: true });
    await waitForConnection(page, 'live', 60_000);
    // The station resumed the request at its first unplayed chunk; the page follows it to the end.
    await api.waitForQueue(
      (q) => q.history.find((r) => r.request_id === id)?.status === 'PLAYED',
      90_000,
      'the interrupted request played to its end',
    );
    // The page heard it to its last sentence (its caption follows the audio on the page's tick).
    await page.waitForFunction(
      (last) => window.__bardcast!.captions.at(-1)?.text === last,
      sentences.at(-1),
      {
        timeout: 30_000,
      },
    );
  }, 240_000);
});
