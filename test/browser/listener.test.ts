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
  waitForPositions,
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
      // Between two chunks, or a chunk still loading: no reading this time.
      if (!q.now_playing || playback === null || station === null) continue;
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

/**
 * A sync reading once the page has one: it has none while a chunk is still
 * loading or between two chunks, which a busy machine makes more likely. Polls
 * (a state, not a time); the timeout is only a safety net.
 */
async function waitForReading(page: Page, token: string, timeoutMs = 30_000): Promise<Omit<Reading, 'page'>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reading = await readSync(page, token);
    if (reading) return reading;
    if (Date.now() > deadline) {
      const s = await sample(page);
      throw new Error(`no sync reading within ${timeoutMs} ms; last page sample: ${JSON.stringify(s)}`);
    }
    await page.waitForTimeout(50);
  }
}

describe.skipIf(!chromium.available)('listener page (Chromium)', () => {
  it('plays a narration: the analyser sees signal and the position advances in real time', async () => {
    await api.reset();
    const page = await listenerPage();
    await tapToStart(page);
    expect(await testIdText(page, 'now-request')).toBe('Nothing on air');

    const id = await api.narrate(
      'The gate creaks open. A cold wind blows through the hall. Somewhere, a bell rings twice. The torches flicker and die. ' +
        'Footsteps echo on the stairs. A voice calls a name nobody has used in years.',
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
        { timeout: 30_000, polling: 20 },
      )
    ).jsonValue()) as number;
    // The page's own clocks: playback (AudioContext) against its station clock (clock sync),
    // each reading one instant. In sync at both ends of a 3 s stretch means it advanced at
    // real time to within 2 × SYNC_SEC / 3 s; a busy machine's audio glitches are corrected
    // by the page's resync, which is what this holds it to.
    const first = await waitForPositions(page);
    await waitForPlaybackPast(page, first.playback + 3);
    const second = await waitForPositions(page);
    const rate = (second.playback - first.playback) / (second.station - first.station);
    const ms = (x: number) => (x * 1000).toFixed(1);
    console.log(
      `[browser] playing: analyser RMS ${onset.toFixed(3)} at onset, ${level.toFixed(3)} in speech; position ${first.playback.toFixed(3)} → ${second.playback.toFixed(3)} s, ${rate.toFixed(3)}× the station clock; playback−station ${ms(first.playback - first.station)}, ${ms(second.playback - second.station)} ms`,
    );
    expect(second.playback - first.playback).toBeGreaterThan(3);
    for (const r of [first, second]) expect(Math.abs(r.playback - r.station)).toBeLessThan(SYNC_SEC);
    expect(await testIdText(page, 'now-request')).toContain('The gate creaks open.');
    expect(await testIdText(page, 'position')).toMatch(/^\d+:\d\d$/);
    expect(suite.browser.errors).toEqual([]);
  }, 120_000);

  it('shows each sentence as a caption while it is heard, in order', async () => {
    await api.reset();
    const page = await listenerPage();
    await tapToStart(page);
    // Recorded as it happens, not sampled: every change of the caption element (station
    // time it was made) and each chunk's slot on the station clock as the page learns it.
    await page.evaluate(() => {
      const w = window as unknown as {
        __captionDom: { at: number; text: string }[];
        __slots: Record<string, { starts_at: number; duration_sec: number }>;
      };
      w.__captionDom = [];
      w.__slots = {};
      const h = window.__bardcast!;
      const record = () => {
        const text = document.querySelector('[data-testid="caption"]')?.textContent?.trim() ?? '';
        if (w.__captionDom.at(-1)?.text !== text) w.__captionDom.push({ at: h.serverNow(), text });
      };
      new MutationObserver(record).observe(document.body, {
        subtree: true,
        childList: true,
        characterData: true,
      });
      record();
      // A chunk is listed from its schedule entry until 5 s after it ends: a sample every 50 ms sees it.
      setInterval(() => {
        for (const c of h.scheduled)
          w.__slots[c.chunk_id] = { starts_at: c.starts_at, duration_sec: c.duration_sec };
      }, 50);
    });
    // Sentences as long as the splitter keeps whole (36 and 64 characters for a request's
    // first two chunks): a caption must show while its own sentence is heard, and a starved
    // page's tick can run a second late.
    const sentences = [
      'Rain hammers on the old slate roof.',
      'The innkeeper wipes a mug and watches the strangers.',
      'Nobody in the room speaks a word while the fire burns low and the wind howls outside the shutters.',
    ];
    const id = await api.narrate(sentences.join(' '));
    await page.waitForFunction(
      ({ requestId, n }) =>
        window.__bardcast!.captions.filter((c) => c.request_id === requestId).length >= n &&
        (window as unknown as { __captionDom: { text: string }[] }).__captionDom.at(-1)?.text === '',
      { requestId: id, n: sentences.length },
      { timeout: 60_000 },
    );
    const { captions, dom, slots } = await page.evaluate((requestId) => {
      const w = window as unknown as {
        __captionDom: { at: number; text: string }[];
        __slots: Record<string, { starts_at: number; duration_sec: number }>;
      };
      return {
        captions: window.__bardcast!.captions.filter((c) => c.request_id === requestId),
        dom: w.__captionDom,
        slots: w.__slots,
      };
    }, id);
    expect(captions.map((c) => c.text)).toEqual(sentences);
    // The page showed exactly these, in this order, each once.
    expect(dom.map((d) => d.text).filter((t) => t !== '')).toEqual(sentences);
    const late = captions.map((c) => {
      const slot = slots[c.chunk_id];
      expect(slot, c.text).toBeDefined();
      const shownAt = dom.find((d) => d.text === c.text)!.at;
      return { text: c.text, lateMs: shownAt - slot!.starts_at, durationMs: slot!.duration_sec * 1000 };
    });
    console.log(
      `[browser] captions: shown ${late.map((c) => `${c.lateMs.toFixed(0)} ms`).join(', ')} after their chunk's station start, of ${late.map((c) => `${c.durationMs.toFixed(0)} ms`).join(', ')} (tick 200 ms)`,
    );
    // While it is heard: not before its chunk goes on air (give or take the sync target),
    // and before that chunk ends, both on the page's own station clock. How soon within
    // the chunk depends on the page's 200 ms tick getting the CPU, which a busy machine delays.
    for (const c of late) {
      expect(c.lateMs, c.text).toBeGreaterThanOrEqual(-SYNC_SEC * 1000);
      expect(c.lateMs, c.text).toBeLessThan(c.durationMs);
    }
  }, 120_000);

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
      { timeout: 30_000 },
    );
    await waitForSignal(page, second, SIGNAL, 60_000);
    // Shown on the page (a sample taken) and heard (its caption set): both happen within a tick or two.
    await page.waitForFunction(
      (s) =>
        (window as unknown as { __shown: { text: string }[] }).__shown.some((x) => x.text.includes(s)) &&
        window.__bardcast!.captions.some((c) => c.text === s),
      secret,
      { timeout: 30_000 },
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
  }, 120_000);

  it('a second tab on the same link, opened mid-request, plays at the station position', async () => {
    await api.reset();
    const first = await listenerPage();
    await tapToStart(first);
    // Long enough (about 40 s) to stay on air through every reading on a busy machine.
    const id = await api.narrate(
      'Night falls over the valley. Wolves call from the northern ridge. The campfire hisses as the rain begins. ' +
        'Somebody mutters a prayer to the old gods. A rider appears on the road, lantern swinging. ' +
        'He does not slow down. The horses stir and stamp. The rider passes without a word. ' +
        'His cloak is torn and his shield is split. Far behind him, drums begin to beat. ' +
        'The drums come closer with every breath. The sentry reaches for his horn. ' +
        'Nobody in the camp is sleeping now. The first arrow lands in the fire. ' +
        'Sparks fly up into the wet dark. Somebody shouts for the captain.',
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
    // (After the first five, heartbeats come every 5 s: on a busy machine this can take a few.)
    await second.waitForFunction(() => (window.__bardcast!.bestRttMs ?? Infinity) < 50, undefined, {
      timeout: 60_000,
    });
    const rows: Reading[] = [];
    for (let i = 0; i < 5; i++) {
      for (const [name, page] of [
        ['first', first],
        ['late', second],
      ] as const) {
        rows.push({ page: name, ...(await waitForReading(page, suite.app.playerToken)) });
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
    // All readings were of this request, and the first tab still plays (never kicked).
    expect((await api.queue()).now_playing?.request_id).toBe(id);
    expect((await sample(first)).state).toBe('live');
    expect(await first.getByTestId('superseded').isHidden()).toBe(true);
    expect(suite.browser.errors).toEqual([]);
  }, 180_000);

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
        setTimeout(() => done(false), 60_000); // a safety net: a busy machine delays the decoder
      });
    }, suite.app.links.liveUrl);
    console.log(`[browser] live MP3 <audio>: currentTime ${advanced.t.toFixed(2)} s`);
    expect(advanced.ok).toBe(true);
  }, 120_000);
});
