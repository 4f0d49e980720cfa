/**
 * The listener page in real Chromium against the real app (child process):
 * it plays, its captions follow the chunks, a second tab opened mid-request
 * (same shared link) starts at the station position, and the live MP3 plays
 * in a plain `<audio>`. One app and one browser for the whole file.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type {} from '../../web/src/debug-hook';
import { chromiumAvailability } from './support/browser';
import { useBrowserSuite } from './support/suite';
import {
  openPage,
  sample,
  tapToStart,
  testIdText,
  waitForPlaybackPast,
  waitForSignal,
} from './support/page-probe';

const chromium = chromiumAvailability();
/** RMS the analyser must see: flite speech peaks well above this; silence is 0. */
const SIGNAL = 0.01;
/** The sync target of issue 6: within 100 ms of the station. */
const SYNC_SEC = 0.1;

const suite = useBrowserSuite(chromium.available);
const { api, pages } = suite;

async function listenerPage(): Promise<Page> {
  const page = await suite.browser.newPage();
  pages.push(page);
  return openPage(page, suite.app.links.listenUrl);
}

interface Reading {
  page: string;
  /** Playback position − the page's own station position, same instant (s). */
  self: number;
  /** Playback position − the server's position at that instant, on local clocks only (s). */
  server: number;
  /** Round trip of the queue request: the server's instant is known to ±rtt/2. */
  rttMs: number;
  /** The page's server clock estimate − the server's clock (ms, ±rtt/2). */
  offsetErrMs: number;
}

/**
 * One sync reading in the page. The server's `request_position_sec` is placed
 * at the midpoint of the queue request's round trip on the page's own clock
 * (performance.now), so the comparison does not use the page's clock offset
 * estimate: an error there shows up instead of cancelling out.
 */
async function readSync(page: Page, token: string): Promise<Omit<Reading, 'page'> | null> {
  return page.evaluate(async (token) => {
    const h = window.__bardcast!;
    const campaign = location.pathname.split('/').filter(Boolean).at(-1)!;
    let best: Omit<Reading, 'page'> | null = null;
    // NTP-style: of a few round trips, the shortest pins the server's instant best.
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const res = await fetch(`/api/campaigns/${campaign}/audio/queue`, {
        headers: { Authorization: `Bearer ${token}` },
        cache: 'no-store',
      });
      const text = await res.text();
      const t1 = performance.now();
      const playback = h.playbackPositionSec();
      const station = h.stationPositionSec();
      const serverNow = h.serverNow();
      const q = JSON.parse(text) as {
        server_time: number;
        now_playing: { request_position_sec: number } | null;
      };
      if (!q.now_playing || playback === null || station === null) return null;
      const sinceMid = (t1 - t0) / 2;
      const reading = {
        self: playback - station,
        server: playback - (q.now_playing.request_position_sec + sinceMid / 1000),
        rttMs: t1 - t0,
        offsetErrMs: serverNow - sinceMid - q.server_time,
      };
      if (!best || reading.rttMs < best.rttMs) best = reading;
    }
    return best;
  }, token);
}

describe.skipIf(!chromium.available)('listener page (Chromium)', () => {
  it('plays a narration: the analyser sees signal and the position advances in real time', async () => {
    await api.reset();
    const page = await listenerPage();
    await tapToStart(page);
    expect(await testIdText(page, 'now-request')).toBe('Nothing on air');

    const id = await api.narrate(
      'The gate creaks open. A cold wind blows through the hall. Somewhere, a bell rings twice. The torches flicker and die.',
    );
    const onset = await waitForSignal(page, id, SIGNAL);
    // Past the onset, speech proper: an RMS that silence or a click never reaches.
    const level = (await (
      await page.waitForFunction(
        () => {
          const l = window.__bardcast!.level();
          return l > 0.05 ? l : false;
        },
        undefined,
        { timeout: 10_000, polling: 20 },
      )
    ).jsonValue()) as number;
    const first = await page.evaluate(() => ({
      at: performance.now(),
      pos: window.__bardcast!.playbackPositionSec()!,
    }));
    await waitForPlaybackPast(page, first.pos + 1.5);
    const second = await page.evaluate(() => ({
      at: performance.now(),
      pos: window.__bardcast!.playbackPositionSec()!,
    }));
    const rate = (second.pos - first.pos) / ((second.at - first.at) / 1000);
    console.log(
      `[browser] playing: analyser RMS ${onset.toFixed(3)} at onset, ${level.toFixed(3)} in speech; position ${first.pos.toFixed(3)} → ${second.pos.toFixed(3)} s, rate ${rate.toFixed(3)}× real time`,
    );
    expect(rate).toBeGreaterThan(0.95);
    expect(rate).toBeLessThan(1.05);
    expect(await testIdText(page, 'now-request')).toContain('The gate creaks open.');
    expect(await testIdText(page, 'position')).toMatch(/^\d+:\d\d$/);
    expect(suite.browser.errors).toEqual([]);
  });

  it('shows each sentence as a caption while it is heard, in order', async () => {
    await api.reset();
    const page = await listenerPage();
    await tapToStart(page);
    const sentences = ['Rain hammers the old roof.', 'The innkeeper wipes a mug.', 'Nobody speaks.'];
    const id = await api.narrate(sentences.join(' '));
    // Each caption must appear when its chunk is heard: compare with the chunk's station start.
    const shown: { text: string; lateMs: number }[] = [];
    for (const sentence of sentences) {
      const handle = await page.waitForFunction(
        ({ s, requestId }) => {
          const h = window.__bardcast!;
          const caption = h.captions.at(-1);
          const text = document.querySelector('[data-testid="caption"]')?.textContent?.trim();
          if (text !== s || caption?.text !== s || caption.request_id !== requestId) return false;
          const chunk = h.scheduled.find((c) => c.chunk_id === caption.chunk_id);
          return chunk ? { text: s, lateMs: caption.at - chunk.starts_at } : false;
        },
        { s: sentence, requestId: id },
        { timeout: 30_000, polling: 20 },
      );
      shown.push((await handle.jsonValue()) as { text: string; lateMs: number });
    }
    const captions = await page.evaluate(
      (requestId) => window.__bardcast!.captions.filter((c) => c.request_id === requestId).map((c) => c.text),
      id,
    );
    expect(captions).toEqual(sentences);
    console.log(
      `[browser] captions: shown ${shown.map((c) => `${c.lateMs.toFixed(0)} ms`).join(', ')} after their chunk's station start (tick 200 ms)`,
    );
    expect(shown[0]!.lateMs).toBeLessThan(1000); // the first chunk is fetched once it goes on air
    for (const c of shown.slice(1)) {
      expect(c.lateMs).toBeGreaterThanOrEqual(-SYNC_SEC * 1000);
      expect(c.lateMs).toBeLessThan(400);
    }
  });

  it('shows a player no text before it airs: queued narrations by kind and length, sentences as they air', async () => {
    await api.reset();
    const page = await listenerPage();
    await tapToStart(page);
    // Every 50 ms: what the page shows, and when (station time).
    await page.evaluate(() => {
      const w = window as unknown as {
        __shown: { at: number; text: string }[];
        __starts: Record<string, number>;
      };
      w.__shown = [];
      w.__starts = {};
      setInterval(() => {
        const h = window.__bardcast!;
        w.__shown.push({ at: h.serverNow(), text: document.body.innerText });
        for (const c of h.scheduled) w.__starts[c.chunk_id] = c.starts_at;
      }, 50);
    });
    const sentences = ['The bridge sways.', 'A rope snaps somewhere below.', 'The ferryman smiles.'];
    const first = await api.narrate(sentences.join(' '));
    const secret = 'The ferryman is a ghost.';
    const second = await api.narrate(secret);
    await page.waitForFunction(
      (id) =>
        document.querySelector(`[data-request-id="${id}"]`)?.textContent?.includes('Read-aloud · 1 sentence'),
      second,
      { timeout: 15_000 },
    );
    await waitForSignal(page, second, SIGNAL, 60_000);
    // Shown on the page (a sample taken) and heard (its caption set): both happen within a tick or two.
    await page.waitForFunction(
      (s) =>
        (window as unknown as { __shown: { text: string }[] }).__shown.some((x) => x.text.includes(s)) &&
        window.__bardcast!.captions.some((c) => c.text === s),
      secret,
      { timeout: 10_000 },
    );
    const { shown, starts, captions } = await page.evaluate(() => {
      const w = window as unknown as {
        __shown: { at: number; text: string }[];
        __starts: Record<string, number>;
      };
      return { shown: w.__shown, starts: w.__starts, captions: window.__bardcast!.captions };
    });
    // When each text first appeared on the page vs. when its chunk went on air (station
    // time): never before, give or take the page's clock estimate and one 50 ms sample.
    const schedule = await api.queue();
    expect(schedule.history.some((r) => r.request_id === first)).toBe(true);
    for (const text of [...sentences.slice(1), secret]) {
      const firstShown = shown.find((s) => s.text.includes(text));
      const chunkId = captions.find((c) => c.text === text)?.chunk_id;
      const airedAt = chunkId === undefined ? undefined : starts[chunkId];
      expect(firstShown, text).toBeDefined();
      expect(airedAt, text).toBeDefined();
      console.log(
        `[browser] "${text}" first on the page ${(firstShown!.at - airedAt!).toFixed(0)} ms after its chunk went on air`,
      );
      expect(firstShown!.at).toBeGreaterThan(airedAt! - 100);
    }
  });

  it('a second tab on the same link, opened mid-request, plays at the station position', async () => {
    await api.reset();
    const first = await listenerPage();
    await tapToStart(first);
    const id = await api.narrate(
      'Night falls over the valley. Wolves call from the northern ridge. The campfire hisses as the rain begins. ' +
        'Somebody mutters a prayer to the old gods. A rider appears on the road, lantern swinging. ' +
        'He does not slow down. The horses stir and stamp.',
    );
    await api.waitForQueue(
      (q) => q.now_playing?.request_id === id && q.now_playing.request_position_sec > 2.5,
      30_000,
      'the request 2.5 s in',
    );

    const second = await listenerPage();
    await tapToStart(second);
    await waitForSignal(second, id, SIGNAL);
    // It joined at the live position, not at the start of the request.
    const joinedAt = await second.evaluate(() => window.__bardcast!.playbackPositionSec()!);
    console.log(`[browser] late tab first heard the request at ${joinedAt.toFixed(3)} s into it`);
    expect(joinedAt).toBeGreaterThan(2.5);
    // Shared link: both tabs have their own client id and the first one was not kicked.
    const clients = await Promise.all(
      [first, second].map((p) => p.evaluate(() => sessionStorage.getItem('bardcast.client'))),
    );
    expect(clients[0]).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(clients[1]).not.toBe(clients[0]);
    expect((await sample(first)).state).toBe('live');
    expect(await first.getByTestId('superseded').isHidden()).toBe(true);

    // Let the second tab's clock estimate settle on its first heartbeats before measuring.
    await second.waitForFunction(() => (window.__bardcast!.bestRttMs ?? Infinity) < 50, undefined, {
      timeout: 15_000,
    });
    const rows: Reading[] = [];
    for (let i = 0; i < 5; i++) {
      for (const [name, page] of [
        ['first', first],
        ['late', second],
      ] as const) {
        const m = await readSync(page, suite.app.playerToken);
        expect(m, `${name} page has a position`).not.toBeNull();
        rows.push({ page: name, ...m! });
      }
    }
    const ms = (x: number) => (x * 1000).toFixed(1);
    for (const name of ['first', 'late']) {
      const mine = rows.filter((r) => r.page === name);
      console.log(
        `[browser] sync ${name} tab (ms): playback−own station clock ${mine.map((r) => ms(r.self)).join(', ')}; ` +
          `playback−server position ${mine.map((r) => ms(r.server)).join(', ')} (±${Math.max(...mine.map((r) => r.rttMs / 2)).toFixed(1)}); ` +
          `clock offset error ${mine.map((r) => r.offsetErrMs.toFixed(1)).join(', ')}`,
      );
    }
    for (const r of rows) {
      expect(Math.abs(r.self), `${r.page} playback vs its station clock`).toBeLessThan(SYNC_SEC);
      expect(Math.abs(r.server) - r.rttMs / 2000, `${r.page} playback vs the server`).toBeLessThan(SYNC_SEC);
    }
    expect(suite.browser.errors).toEqual([]);
  });

  it('the live MP3 URL plays in a plain <audio> element (best effort)', async () => {
    await api.reset();
    const page = await suite.browser.newPage();
    pages.push(page);
    await page.goto(`${suite.app.baseUrl}/healthz`);
    await api.narrate('The bard tunes her lute. The crowd falls silent.');
    const advanced = await page.evaluate(async (src) => {
      const audio = document.createElement('audio');
      audio.src = src;
      document.body.append(audio);
      await audio.play();
      return new Promise<{ t: number; ok: boolean }>((resolve) => {
        const done = (ok: boolean) => resolve({ t: audio.currentTime, ok });
        audio.addEventListener('timeupdate', () => audio.currentTime > 1.5 && done(true));
        audio.addEventListener('error', () => done(false));
        setTimeout(() => done(false), 20_000);
      });
    }, suite.app.links.liveUrl);
    console.log(`[browser] live MP3 <audio>: currentTime ${advanced.t.toFixed(2)} s`);
    expect(advanced.ok).toBe(true);
  });
});
