/**
 * The DM console in real Chromium against the real app (child process): type
 * and send narrations, see them queued, and skip / pause / resume / stop the
 * station with the buttons — checked against the server's own queue
 * endpoint, not only the page. One app and one browser for the whole file.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type {} from '../../web/src/debug-hook';
import { chromiumAvailability } from './support/browser';
import { useBrowserSuite } from './support/suite';
import { openPage, testIdText, waitForConnection, waitForSignal } from './support/page-probe';

const chromium = chromiumAvailability();

const suite = useBrowserSuite(chromium.available);
const { api, pages } = suite;

async function dmConsole(url = suite.app.links.dmUrl): Promise<Page> {
  const page = await suite.browser.newPage();
  pages.push(page);
  return openPage(page, url);
}

/** Types a narration into the form and sends it; returns the request id the server gave it. */
async function send(page: Page, text: string, mode: 'say' | 'narrate'): Promise<string> {
  await page.getByTestId(`mode-${mode}`).check();
  await page.getByTestId('narration-text').fill(text);
  await page.getByTestId('send-button').click();
  await page.waitForFunction(
    () =>
      /^Queued \([0-9a-f]{8}\)\.$/.test(
        document.querySelector('[data-testid="send-status"]')?.textContent ?? '',
      ),
    undefined,
    { timeout: 30_000 },
  );
  const prefix = /\(([0-9a-f]{8})\)/.exec(await testIdText(page, 'send-status'))![1]!;
  const q = await api.queue();
  const found = [...q.pending, ...q.history].find((r) => r.request_id.startsWith(prefix));
  const id =
    found?.request_id ?? (q.now_playing?.request_id.startsWith(prefix) ? q.now_playing.request_id : null);
  expect(id, `request ${prefix}… in the server queue`).toBeTruthy();
  expect(await page.getByTestId('narration-text').inputValue()).toBe('');
  return id!;
}

/** Waits until the button is enabled (the console disables controls that do not apply). */
async function click(page: Page, button: string): Promise<void> {
  const locator = page.getByTestId(button);
  await expectEnabled(page, button);
  await locator.click();
}

async function expectEnabled(page: Page, button: string): Promise<void> {
  await page.waitForFunction(
    (id) => !(document.querySelector(`[data-testid="${id}"]`) as HTMLButtonElement | null)?.disabled,
    button,
    { timeout: 30_000 },
  );
}

describe.skipIf(!chromium.available)('DM console (Chromium)', () => {
  it('sends narrations, shows the queue, and skip / pause / resume / stop move the station', async () => {
    await api.reset();
    const page = await dmConsole();
    // Long enough (about 30 s) to stay on air through every step up to the skip, however
    // slowly a busy machine runs them: the checks below read the station as it is.
    const long =
      'The dragon uncoils from its hoard of gold. Smoke curls from its nostrils. Its eyes, old as the mountains, ' +
      'settle on the party. Every torch in the cavern gutters. The floor trembles under its weight. ' +
      'Coins slide and ring against the stone. Its tail sweeps a pillar into dust. ' +
      'The air grows hot enough to sting. Somewhere behind it, water hisses into steam. ' +
      'It opens its jaws, and the party sees the fire waiting there.';
    const firstId = await send(page, long, 'say');
    await api.onAir(firstId);
    const nextText = 'A small voice squeaks from behind the treasure: run!';
    const nextId = await send(page, nextText, 'say');

    // Queued: in the server's queue, and in the console's list with its status.
    const queued = await api.queue();
    expect(queued.now_playing?.request_id).toBe(firstId);
    expect(queued.pending.map((r) => r.request_id)).toEqual([nextId]);
    await page.waitForFunction(
      (id) => document.querySelector(`[data-testid="queue"] [data-request-id="${id}"]`) !== null,
      nextId,
      { timeout: 30_000 },
    );
    expect(await page.locator(`[data-request-id="${nextId}"]`).textContent()).toContain(
      'A small voice squeaks',
    );
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="now-request"]')?.textContent?.includes('The dragon uncoils'),
      undefined,
      { timeout: 30_000 },
    );

    // Pause: the station stops its clock; the console says so and offers Resume.
    await click(page, 'pause-button');
    const paused = await api.waitForQueue((q) => q.paused && q, 30_000, 'a paused station');
    expect(paused.now_playing?.request_id).toBe(firstId);
    // The position holds still while paused (read again half a second of server time later).
    const later = await api.waitForQueue(
      (q) => q.server_time > paused.server_time + 500 && q,
      30_000,
      'half a second of server time',
    );
    expect(later.paused).toBe(true);
    expect(later.now_playing?.request_position_sec).toBe(paused.now_playing!.request_position_sec);
    // The console shows it: "Paused", and Pause no longer applies.
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="now-request"]')?.textContent === 'Paused' &&
        (document.querySelector('[data-testid="pause-button"]') as HTMLButtonElement | null)?.disabled ===
          true,
      undefined,
      { timeout: 30_000 },
    );

    // Resume: the same request carries on from where it was.
    await click(page, 'resume-button');
    const resumed = await api.waitForQueue(
      (q) => !q.paused && q.now_playing?.request_id === firstId && q,
      30_000,
      'the first request back on air',
    );
    const atResume = resumed.now_playing!.request_position_sec;
    await api.waitForQueue(
      (q) => (q.now_playing?.request_position_sec ?? 0) > atResume + 0.5,
      30_000,
      'the position moving after resume',
    );

    // Skip: the first request ends CANCELLED, the queued one goes on air.
    await click(page, 'skip-button');
    await api.onAir(nextId, 30_000);
    const afterSkip = await api.queue();
    expect(afterSkip.history.find((r) => r.request_id === firstId)?.status).toBe('CANCELLED');
    await page.waitForFunction(
      (id) =>
        document
          .querySelector(`[data-testid="history"] [data-request-id="${id}"]`)
          ?.getAttribute('data-status') === 'CANCELLED',
      firstId,
      { timeout: 30_000 },
    );

    // Stop: nothing on air, nothing queued.
    await send(page, 'The echo fades.', 'say');
    await click(page, 'stop-button');
    await api.waitForQueue((q) => !q.now_playing && q.pending.length === 0, 30_000, 'a stopped station');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="now-request"]')?.textContent === 'Nothing on air',
      undefined,
      { timeout: 30_000 },
    );
    expect(suite.browser.errors).toEqual([]);
  }, 180_000);

  it('narrate mode goes through the (demo) LLM, and "Listen here" plays it in the console', async () => {
    await api.reset();
    const page = await dmConsole();
    await page.getByTestId('listen-toggle').check();
    await page.waitForFunction(() => window.__bardcast?.audioState === 'running', undefined, {
      timeout: 30_000,
    });
    const prompt = 'the party enters a haunted library';
    const id = await send(page, prompt, 'narrate');
    const level = await waitForSignal(page, id, 0.01);
    // The captions are the narrator's sentences, not the DM's prompt.
    const caption = await page.waitForFunction(
      () => document.querySelector('[data-testid="caption"]')?.textContent?.trim() || false,
      undefined,
      { timeout: 30_000 },
    );
    const sentence = (await caption.jsonValue()) as string;
    console.log(`[browser] DM console listen-here: analyser RMS ${level.toFixed(3)}; caption "${sentence}"`);
    expect(sentence).not.toBe(prompt);
    await api.reset();
    const summary = (await api.queue()).history.find((r) => r.request_id === id);
    expect(summary).toMatchObject({ mode: 'narrate', text: prompt, status: 'CANCELLED' });
  }, 120_000);

  it('disables the controls with nothing on air, and says how far a paste went past the limit', async () => {
    await api.reset();
    const page = await dmConsole();
    await waitForConnection(page, 'live');
    // Once the console knows the station is idle (its first schedule), none of them applies.
    const controls = ['skip-button', 'stop-button', 'pause-button', 'resume-button'];
    await page.waitForFunction(
      (ids) =>
        (window.__bardcast!.schedule as { entries: unknown[] }).entries.length === 0 &&
        ids.every((id) => (document.querySelector(`[data-testid="${id}"]`) as HTMLButtonElement).disabled),
      controls,
      { timeout: 30_000 },
    );
    await page.getByTestId('narration-text').fill('x'.repeat(4100));
    expect(await page.locator('#narration-count').textContent()).toBe(
      '4100 / 4000: 100 over the limit, shorten it before sending',
    );
    expect(await page.getByTestId('narration-text').inputValue()).toHaveLength(4100);
    expect(await page.getByTestId('send-button').isDisabled()).toBe(true);
    // Nothing speakable: refused on the page, with the reason, before reaching the server.
    await page.getByTestId('mode-say').check();
    await page.getByTestId('narration-text').fill('...');
    await page.getByTestId('send-button').click();
    await page.waitForFunction(
      () => /nothing to speak/.test(document.querySelector('[data-testid="send-error"]')?.textContent ?? ''),
      undefined,
      { timeout: 30_000 },
    );
    expect((await api.queue()).pending).toEqual([]);
    // Something queued: the controls apply again.
    const id = await send(page, 'A bell tolls once.', 'say');
    await api.onAir(id);
    await expectEnabled(page, 'skip-button');
    await expectEnabled(page, 'pause-button');
    expect(await page.getByTestId('resume-button').isDisabled()).toBe(true);
    await api.reset();
  }, 120_000);

  it('explains a refused send (a player link opened as a DM console)', async () => {
    const url = suite.app.links.dmUrl.replace(suite.app.dmToken, suite.app.playerToken);
    const page = await dmConsole(url);
    await page.getByTestId('mode-say').check();
    await page.getByTestId('narration-text').fill('Let me narrate too.');
    await page.getByTestId('send-button').click();
    await page.waitForFunction(
      () => (document.querySelector('[data-testid="send-error"]')?.textContent ?? '').includes('forbidden'),
      undefined,
      { timeout: 30_000 },
    );
    expect(await page.getByTestId('narration-text').inputValue()).toBe('Let me narrate too.');
    expect((await api.queue()).pending).toEqual([]);
  }, 120_000);
});
