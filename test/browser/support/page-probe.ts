/**
 * Reading a page through its debug hook (`window.__bardcast`, see
 * web/src/debug-hook.ts) and its `data-testid`s. Waits use
 * `page.waitForFunction` (evaluated in the page on every animation frame),
 * never a fixed sleep.
 */
import type { Page } from 'playwright-core';

/** One reading of a page, taken in a single evaluation. */
export interface PageSample {
  /** Connection status. */
  state: string;
  audioState: string;
  /** The page's estimate of server time at the reading (ms). */
  serverNow: number;
  clockOffsetMs: number | null;
  bestRttMs: number | null;
  /** Seconds into the on-air request per the page's station clock. */
  station: number | null;
  /** Seconds into the request being heard (AudioContext clock). */
  playback: number | null;
  level: number;
}

/** Takes a {@link PageSample}. */
export function sample(page: Page): Promise<PageSample> {
  return page.evaluate(() => {
    const h = window.__bardcast!;
    return {
      state: h.state,
      audioState: h.audioState,
      serverNow: h.serverNow(),
      clockOffsetMs: h.clockOffsetMs,
      bestRttMs: h.bestRttMs,
      station: h.stationPositionSec(),
      playback: h.playbackPositionSec(),
      level: h.level(),
    };
  });
}

/** A {@link PageSample} of a page that is sounding a request: both positions known. */
export type PlayingSample = PageSample & { station: number; playback: number };

/**
 * Waits for a reading in which the page both hears a request and knows the
 * station position (neither is known between two chunks or while a chunk
 * loads); one evaluation, so both are of the same instant.
 */
export async function waitForPositions(page: Page, timeoutMs = 30_000): Promise<PlayingSample> {
  const handle = await page.waitForFunction(
    () => {
      const h = window.__bardcast!;
      const station = h.stationPositionSec();
      const playback = h.playbackPositionSec();
      if (station === null || playback === null) return false;
      return {
        state: h.state,
        audioState: h.audioState,
        serverNow: h.serverNow(),
        clockOffsetMs: h.clockOffsetMs,
        bestRttMs: h.bestRttMs,
        station,
        playback,
        level: h.level(),
      };
    },
    undefined,
    { timeout: timeoutMs, polling: 20 },
  );
  return (await handle.jsonValue()) as PlayingSample;
}

/** Opens a page and waits until its WebSocket is live. */
export async function openPage(page: Page, url: string, timeoutMs = 30_000): Promise<Page> {
  await page.goto(url, { waitUntil: 'load', timeout: timeoutMs });
  await waitForConnection(page, 'live', timeoutMs);
  return page;
}

/** Waits for the connection state the page shows (`data-state` of the connection badge). */
export async function waitForConnection(page: Page, state: string, timeoutMs = 30_000): Promise<void> {
  await page.waitForFunction(
    (s) => document.querySelector('[data-testid="connection-state"]')?.getAttribute('data-state') === s,
    state,
    { timeout: timeoutMs },
  );
}

/** Clicks "tap to start" and waits until the AudioContext runs. */
export async function tapToStart(page: Page, timeoutMs = 15_000): Promise<void> {
  await page.getByTestId('start-button').click();
  await page.waitForFunction(() => window.__bardcast?.audioState === 'running', undefined, {
    timeout: timeoutMs,
  });
}

/** Waits until the page hears `requestId` with signal above `threshold`; returns the level seen. */
export async function waitForSignal(
  page: Page,
  requestId: string,
  threshold: number,
  timeoutMs = 30_000,
): Promise<number> {
  const handle = await page.waitForFunction(
    ({ id, min }) => {
      const h = window.__bardcast!;
      const heard = h.scheduled.some((c) => c.request_id === id);
      const level = h.level();
      return heard && h.playbackPositionSec() !== null && level > min ? level : false;
    },
    { id: requestId, min: threshold },
    { timeout: timeoutMs, polling: 20 },
  );
  return (await handle.jsonValue()) as number;
}

/** Waits until the page's playback position (of the request heard) passes `sec`. */
export async function waitForPlaybackPast(page: Page, sec: number, timeoutMs = 30_000): Promise<number> {
  const handle = await page.waitForFunction(
    (s) => {
      const p = window.__bardcast!.playbackPositionSec();
      return p !== null && p > s ? p : false;
    },
    sec,
    { timeout: timeoutMs, polling: 20 },
  );
  return (await handle.jsonValue()) as number;
}

/** Text of a `data-testid` element. */
export async function testIdText(page: Page, id: string): Promise<string> {
  return ((await page.getByTestId(id).textContent()) ?? '').trim();
}
