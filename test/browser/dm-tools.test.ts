/**
 * The DM's tools in real Chromium against the real app (child process, flite
 * and the demo LLM): the console's cast editor and scene library (a scene
 * saved from the page renders and plays from its button), and the caption
 * overlay (transparent, styled from its address, showing only the sentence
 * on air, never markup). Screenshots go to docs/ when BARDCAST_SCREENSHOTS=1.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chromiumAvailability } from './support/browser';
import { REPO_ROOT } from './support/app-process';
import { openPage } from './support/page-probe';
import { useBrowserSuite } from './support/suite';

const chromium = chromiumAvailability();
const suite = useBrowserSuite(chromium.available);
const { api, pages } = suite;
const SHOTS = process.env['BARDCAST_SCREENSHOTS'] === '1';

async function tab(url: string, open = true): Promise<Page> {
  const page = await suite.browser.newPage();
  pages.push(page);
  await page.setViewportSize({ width: 1280, height: 900 });
  if (open) return openPage(page, url);
  await page.goto(url, { waitUntil: 'load' });
  return page;
}

async function dmCall(method: string, route: string, body?: unknown): Promise<Response> {
  const app = suite.app;
  return fetch(`${app.baseUrl}/api/campaigns/${app.campaignId}${route}`, {
    method,
    headers: {
      Authorization: `Bearer ${app.dmToken}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

describe.skipIf(!chromium.available)('DM tools (Chromium)', () => {
  it('edits the cast and plays a prepared scene from the console', async () => {
    await api.reset();
    const page = await tab(suite.app.links.dmUrl);
    await page.getByTestId('cast-name').fill('Grimble');
    await page.getByTestId('cast-voice').selectOption('awb');
    await page.getByTestId('cast-add').click();
    await page.locator('[data-testid="cast-member"][data-name="Grimble"]').waitFor({ timeout: 15_000 });
    const cast = (await (await dmCall('GET', '/cast')).json()) as { cast: unknown[] };
    expect(cast.cast).toEqual([{ name: 'Grimble', voice: 'awb', auto: false }]);

    await page.getByTestId('scene-name').fill('The Vault');
    await page
      .getByTestId('scene-text')
      .fill('The vault door grinds open.\nGrimble: Nobody has stood here in a thousand years.');
    await page.getByTestId('scene-save').click();
    const scene = page.locator('[data-testid="scene"][data-name="The Vault"]');
    await page.locator('[data-testid="scene"][data-name="The Vault"][data-status="READY"]').waitFor({
      timeout: 60_000,
    });
    await scene.getByTestId('scene-play').click();
    const onAir = await api.waitForQueue(
      (q) => (q.now_playing ? q.now_playing : false),
      15_000,
      'the scene on air',
    );
    const request = (await api.queue()).now_playing;
    expect(request?.request_id).toBe(onAir.request_id);
    if (SHOTS) await page.screenshot({ path: path.join(REPO_ROOT, 'docs', 'dm-tools.png'), fullPage: true });

    // Bad input answers clearly and changes nothing.
    const bad = await dmCall('PUT', '/cast/Grimble', { voice: 'no-such-voice' });
    expect(bad.status).toBe(400);
    const player = await fetch(
      `${suite.app.baseUrl}/api/campaigns/${suite.app.campaignId}/scenes?token=${suite.app.playerToken}`,
    );
    expect(player.status).toBe(403);
    expect((await dmCall('DELETE', '/scenes/The%20Vault')).status).toBe(204);
  });

  it('downloads the session transcript and drafts, edits and airs a recap from the console', async () => {
    await api.reset();
    const id = await api.narrate('Grimble: The vault is sealed. Turn back now.', 'say');
    await api.onAir(id);
    await api.reset(); // stopped mid-narration: it is in the transcript, marked
    const page = await tab(suite.app.links.dmUrl);
    const href = await page.getByTestId('transcript-download').getAttribute('href');
    const file = await fetch(new URL(href!, suite.app.baseUrl));
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toMatch(/^text\/markdown/);
    const markdown = await file.text();
    expect(markdown).toContain('**Grimble:** The vault is sealed.');
    expect(markdown).toMatch(/_\(skipped after \d of 2 sentences\)_/);

    await page.getByTestId('recap-write').click();
    await page.getByTestId('recap-editor').waitFor({ state: 'visible', timeout: 30_000 });
    const draft = await page.getByTestId('recap-text').inputValue();
    expect(draft.length).toBeGreaterThan(0);
    await page.getByTestId('recap-text').fill('Previously… the party found the vault sealed.');
    await page.getByTestId('recap-air').click();
    const q = await api.waitForQueue(
      (s) => [s.now_playing, ...s.pending].find((r) => r && 'request_id' in r) ?? false,
      15_000,
      'the recap queued',
    );
    expect(q).toBeTruthy();
    expect(await page.getByTestId('recap-note').textContent()).toBe('Recap queued.');
  });

  it('caption overlay: transparent, styled by its address, only the sentence on air, no markup', async () => {
    await api.reset();
    const { baseUrl, campaignId, playerToken } = suite.app;
    const url = `${baseUrl}/overlay/${campaignId}?token=${playerToken}&size=64&color=gold&position=bottom`;
    const page = await tab(url, false);
    const id = await api.narrate('<v Grimble>Who goes there?</v> The wind howls through the pass.', 'say');
    await api.onAir(id);
    await page.waitForFunction(
      () => (document.querySelector('[data-testid="caption"]')?.textContent ?? '') !== '',
      undefined,
      { timeout: 20_000 },
    );
    const look = await page.evaluate(() => {
      const caption = document.querySelector('[data-testid="caption"]') as HTMLElement;
      const style = getComputedStyle(caption);
      return {
        text: caption.textContent,
        size: style.fontSize,
        color: style.color,
        page: getComputedStyle(document.body).backgroundColor,
      };
    });
    expect(['Who goes there?', 'The wind howls through the pass.']).toContain(look.text);
    expect(look.text).not.toMatch(/[<>]|Grimble/);
    expect(look).toMatchObject({ size: '64px', color: 'rgb(255, 215, 0)', page: 'rgba(0, 0, 0, 0)' });
    if (SHOTS) {
      await page.screenshot({ path: path.join(REPO_ROOT, 'docs', 'overlay.png'), omitBackground: true });
    }
  });
});
