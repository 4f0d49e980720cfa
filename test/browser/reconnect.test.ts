/**
 * Connection lifecycle of the listener page in real Chromium against the real
 * app (child process): it rides out a server restart by itself, and a
 * duplicated tab (same sessionStorage, so the same client id) is the one case
 * where one tab replaces another.
 */
import { describe, expect, it } from 'vitest';
import type {} from '../../web/src/debug-hook';
import { startAppProcess } from './support/app-process';
import { chromiumAvailability } from './support/browser';
import { useBrowserSuite } from './support/suite';
import {
  openPage,
  tapToStart,
  waitForConnection,
  waitForPositions,
  waitForSignal,
} from './support/page-probe';

const chromium = chromiumAvailability();

const suite = useBrowserSuite(chromium.available);
const { api, pages } = suite;

describe.skipIf(!chromium.available)('listener connection lifecycle (Chromium)', () => {
  it('reconnects by itself after the server restarts and plays a new narration in sync', async () => {
    await api.reset();
    const page = await suite.browser.newPage();
    pages.push(page);
    await openPage(page, suite.app.links.listenUrl);
    await tapToStart(page);
    const interrupted = await api.narrate(
      'The lights go out. Someone screams in the dark. A door slams, far away. Then silence.',
    );
    await waitForSignal(page, interrupted, 0.01);
    // Every sentence stored (the schedule lists chunks once they exist): a shutdown
    // during generation would fail the request instead (the pipeline does not resume).
    await page.waitForFunction(
      (id) => {
        const schedule = window.__bardcast!.schedule as {
          entries: { request_id: string; sequence_number: number }[];
        };
        return schedule.entries.some((e) => e.request_id === id && e.sequence_number === 3);
      },
      interrupted,
      { timeout: 20_000 },
    );

    // SIGTERM: the server closes sockets with 1001 and exits; the page retries with backoff.
    const { port, dataDir } = suite.app;
    const stoppedAt = Date.now();
    await suite.app.stop();
    // What the page shows once it noticed (one reading): it says it is reconnecting.
    const shown = (await (
      await page.waitForFunction(
        () => {
          const badge = document.querySelector('[data-testid="connection-state"]');
          return badge?.getAttribute('data-state') === 'reconnecting' && (badge.textContent ?? '').trim();
        },
        undefined,
        { timeout: 30_000 },
      )
    ).jsonValue()) as string;
    expect(shown).toMatch(/reconnect/i);

    // Same port, same data dir (same token secret: the page's link stays valid).
    suite.app = await startAppProcess({ port, dataDir, removeDataDir: true });
    const restartedAt = Date.now();
    await waitForConnection(page, 'live', 60_000);
    const liveAt = Date.now();
    console.log(
      `[browser] restart: server down ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s; page live again ${((liveAt - restartedAt) / 1000).toFixed(1)} s after the new server printed its links`,
    );
    expect(await page.getByTestId('superseded').isHidden()).toBe(true);

    // A new narration plays on the reconnected page, in sync with the station.
    const fresh = await api.narrate('Torches flare back to life. Everyone is still here.');
    await waitForSignal(page, fresh, 0.01, 60_000);
    // A reading with both positions known (none between chunks or while one loads).
    const { playback, station } = await waitForPositions(page);
    console.log(`[browser] after reconnect: playback−station ${((playback - station) * 1000).toFixed(1)} ms`);
    expect(Math.abs(playback - station)).toBeLessThan(0.1);
    await page.waitForFunction(
      () => window.__bardcast!.captions.some((c) => c.text === 'Torches flare back to life.'),
      undefined,
      { timeout: 30_000 },
    );
    // The interrupted request was not lost: the station resumed it after the restart.
    const history = (await api.queue()).history;
    expect(history.find((r) => r.request_id === interrupted)?.status).toBe('PLAYED');
  }, 240_000);

  it('a duplicated tab takes over its original (same client id); "Listen here again" takes it back', async () => {
    await api.reset();
    const original = await suite.browser.newPage();
    pages.push(original);
    await openPage(original, suite.app.links.listenUrl);
    const client = await original.evaluate(() => sessionStorage.getItem('bardcast.client'));
    expect(client).toMatch(/^[A-Za-z0-9_-]{8,64}$/);

    // A tab opened by window.open gets a copy of its opener's sessionStorage, like a duplicated tab.
    const [duplicate] = await Promise.all([
      original.context().waitForEvent('page'),
      original.evaluate((url) => void window.open(url, '_blank'), suite.app.links.listenUrl),
    ]);
    pages.push(duplicate!);
    await waitForConnection(duplicate!, 'live');
    expect(await duplicate!.evaluate(() => sessionStorage.getItem('bardcast.client'))).toBe(client);

    await waitForConnection(original, 'superseded', 30_000);
    expect(await original.getByTestId('superseded').isVisible()).toBe(true);
    expect(await original.getByTestId('reconnect-button').isVisible()).toBe(true);

    await original.getByTestId('reconnect-button').click();
    await waitForConnection(original, 'live');
    await waitForConnection(duplicate!, 'superseded', 30_000);
    // The page that lost does not reconnect by itself (that would ping-pong forever): once
    // its own timers are 2 s on (past a first reconnect delay), it has not left `superseded`.
    expect(await duplicate!.getByTestId('reconnect-button').isVisible()).toBe(true);
    await duplicate!.evaluate(() => new Promise<void>((resolve) => setTimeout(resolve, 2_000)));
    expect(await duplicate!.evaluate(() => window.__bardcast!.connectionHistory.at(-1))).toBe('superseded');
    expect(await original.getByTestId('superseded').isHidden()).toBe(true);
  }, 120_000);
});
