/**
 * Sync, measured from Chromium and on the wire. `npx tsx bench/sync.ts`
 * (`--joins 20`; needs /usr/bin/chromium). The real app (child process,
 * flite, demo LLM) plays long narrations; then:
 *
 * - Page: `--joins` times, a new listener tab joins mid-request, taps start,
 *   and once it hears the request (analyser signal) and its clock estimate has
 *   settled (best heartbeat round trip < 50 ms, or 15 s), its Web Audio
 *   playback position is compared with the server's: the queue's
 *   `request_position_sec`, placed at the midpoint of the shortest of three
 *   round trips on the page's own clock (so the page's clock-offset estimate
 *   is tested, not used). Also the page against its own station clock.
 * - Server, late-join start: `--joins` times, the live MP3 stream is opened
 *   mid-request; its first audio frames are found, byte for byte, in the
 *   on-air chunk's MP3, which gives the station time the stream starts at.
 *   That is compared with the station position at the moment the server
 *   answered (queue position read just before, advanced by the wall clock to
 *   the response headers' arrival, ± half that round trip). One MP3 frame at
 *   48 kHz is 24 ms.
 */
import type { Page } from 'playwright-core';
import { parseArgs } from 'node:util';
import { framePlayableStart, iterateFrames, scanMp3 } from '../src/media';
import { startAppProcess, type AppProcess } from '../test/browser/support/app-process';
import { CHROMIUM_PATH, chromiumAvailability, launchBrowser } from '../test/browser/support/browser';
import { openPage, tapToStart, waitForSignal } from '../test/browser/support/page-probe';
import { ensurePagesBuilt } from '../test/browser/support/pages';
import { StationApi, type QueueSnapshot } from '../test/browser/support/station-api';
import type {} from '../web/src/debug-hook';

const { values } = parseArgs({ options: { joins: { type: 'string', default: '20' } }, strict: false });
const JOINS = Number(values.joins);
const FRAME_MS = (1152 / 48_000) * 1000;
const PAGE_TARGET_MS = 100;

const SENTENCES = [
  'Night falls over the valley, and the wolves begin to call from the northern ridge.',
  'The campfire hisses as the first drops of rain find it.',
  'Somebody mutters a prayer to the old gods, half in jest and half in earnest.',
  'A rider appears on the road below, a lantern swinging from his saddle.',
  'He does not slow down as he passes, and the horses stir and stamp.',
  'Far away, a bell rings twice from the tower of the ruined abbey.',
  'The mercenary captain pulls her cloak tighter and watches the tree line.',
  'Her scout returns at a run, breathless, with mud to his knees.',
  'He has seen lights in the marsh, moving against the wind.',
  'Nobody speaks for a long moment, and the rain grows heavier.',
];
/** About a minute of flite speech. */
const LONG_TEXT = [...SENTENCES, ...SENTENCES].join(' ');

interface PageReading {
  /** Playback − the server's position (ms). */
  server: number;
  /** Playback − the page's own station position (ms). */
  self: number;
  rttMs: number;
}

async function readSync(page: Page, token: string): Promise<PageReading | null> {
  return page.evaluate(async (token) => {
    const h = window.__bardcast!;
    const campaign = location.pathname.split('/').filter(Boolean).at(-1)!;
    let best: { server: number; self: number; rttMs: number } | null = null;
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
      const q = JSON.parse(text) as { now_playing: { request_position_sec: number } | null };
      if (!q.now_playing || playback === null || station === null) return null;
      const sinceMid = (t1 - t0) / 2;
      const r = {
        server: (playback - (q.now_playing.request_position_sec + sinceMid / 1000)) * 1000,
        self: (playback - station) * 1000,
        rttMs: t1 - t0,
      };
      if (!best || r.rttMs < best.rttMs) best = r;
    }
    return best;
  }, token);
}

/** Keeps something on air: queues another long narration when fewer than 20 s are left. */
async function keepOnAir(api: StationApi): Promise<QueueSnapshot> {
  const q = await api.queue();
  if (q.pending.length === 0) await api.narrate(LONG_TEXT);
  return api.waitForQueue(
    (s) => (s.now_playing && s.now_playing.request_position_sec > 3 ? s : null),
    120_000,
  );
}

async function pageJoins(app: AppProcess, api: StationApi): Promise<PageReading[]> {
  const browser = await launchBrowser();
  const out: PageReading[] = [];
  try {
    for (let i = 0; out.length < JOINS && i < JOINS * 2; i++) {
      const q = await keepOnAir(api);
      const id = q.now_playing!.request_id;
      const page = await browser.newPage();
      try {
        await openPage(page, app.links.listenUrl);
        await tapToStart(page);
        // A join that lands as the request ends hears the next one instead: not counted, try again.
        const heard = await waitForSignal(page, id, 0.01).then(
          () => true,
          () => false,
        );
        if (!heard) {
          process.stderr.write('join skipped: the request ended before the page heard it\n');
          continue;
        }
        await page
          .waitForFunction(() => (window.__bardcast!.bestRttMs ?? Infinity) < 50, undefined, {
            timeout: 15_000,
          })
          .catch(() => {});
        const r = await readSync(page, app.playerToken);
        // A reading across a request boundary compares two different requests: skip it.
        if (r && Math.abs(r.server) < 2000) out.push(r);
        process.stderr.write(`join ${out.length}/${JOINS}: ${r ? r.server.toFixed(1) : '—'} ms\n`);
      } finally {
        await page.close();
      }
    }
    if (browser.errors.length > 0) process.stderr.write(`page errors: ${browser.errors.join(' | ')}\n`);
  } finally {
    await browser.close();
  }
  return out;
}

/** Station position error of the live stream's first frame (ms, + = ahead of the station), ± half the round trip. */
async function liveStart(
  app: AppProcess,
  api: StationApi,
): Promise<{ errMs: number; halfRttMs: number } | null> {
  const before = (await keepOnAir(api)).now_playing!;
  const chunkRes = await fetch(`${app.baseUrl}/api/audio/chunks/${before.chunk_id}`, {
    headers: { Authorization: `Bearer ${app.playerToken}` },
  });
  if (!chunkRes.ok) throw new Error(`chunk audio: ${chunkRes.status}`);
  const chunk = new Uint8Array(await chunkRes.arrayBuffer());
  const scan = scanMp3(chunk);
  // The station position right before the live request: read, then placed at that round trip's midpoint.
  const q0 = Date.now();
  const np = (await api.queue()).now_playing;
  const tq = (q0 + Date.now()) / 2;
  if (!np || np.chunk_id !== before.chunk_id) return null;
  const t0 = Date.now();
  const controller = new AbortController();
  const res = await fetch(`${app.links.liveUrl}`, { signal: controller.signal });
  const t1 = Date.now();
  const reader = res.body!.getReader();
  let buf = new Uint8Array(0);
  while (buf.length < 8_000) {
    const { value, done } = await reader.read();
    if (done || !value) break;
    const next = new Uint8Array(buf.length + value.length);
    next.set(buf);
    next.set(value, buf.length);
    buf = next;
  }
  controller.abort();
  // The first few stream frames, found byte for byte (two in a row, so a repeated silent frame can't fool it).
  const streamFrames = [...iterateFrames(buf)].slice(0, 8);
  const same = (ci: number, si: number): boolean => {
    const cf = scan.frames[ci];
    const sf = streamFrames[si];
    if (!cf || !sf || cf.length !== sf.header.frameLength) return false;
    return chunk.subarray(cf.offset, cf.offset + cf.length).every((b, j) => b === buf[sf.offset + j]);
  };
  for (let k = 0; k + 1 < streamFrames.length; k++) {
    const index = scan.frames.findIndex((_, ci) => same(ci, k) && same(ci + 1, k + 1));
    if (index < 0) continue;
    // Playable time of the stream's first frame, in the chunk.
    const startSec = framePlayableStart(scan, index - k) / scan.sampleRate;
    const stationSec = np.position_sec + ((t0 + t1) / 2 - tq) / 1000;
    return { errMs: (startSec - stationSec) * 1000, halfRttMs: (t1 - t0) / 2 + (tq - q0) };
  }
  return null; // the stream started in another chunk (a boundary): not counted
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))] ?? NaN;
};

async function main(): Promise<void> {
  const chromium = chromiumAvailability();
  if (!chromium.available) throw new Error(`${CHROMIUM_PATH} is needed`);
  await ensurePagesBuilt();
  const app = await startAppProcess();
  const api = new StationApi(() => app);
  try {
    await api.narrate(LONG_TEXT);
    const live: Array<{ errMs: number; halfRttMs: number }> = [];
    for (let i = 0; live.length < JOINS && i < JOINS * 2; i++) {
      const r = await liveStart(app, api);
      if (r) live.push(r);
    }
    const pages = await pageJoins(app, api);
    report(pages, live);
  } finally {
    await app.dispose();
  }
}

function report(pages: PageReading[], live: Array<{ errMs: number; halfRttMs: number }>): void {
  const abs = (xs: number[]) => xs.map(Math.abs);
  const f = (x: number) => x.toFixed(1);
  const serverAbs = abs(pages.map((r) => r.server));
  const selfAbs = abs(pages.map((r) => r.self));
  const liveAbs = abs(live.map((r) => r.errMs));
  // What the readings show for sure: the part of each error its own uncertainty can't explain.
  const beyondPage = pages.map((r) => Math.max(0, Math.abs(r.server) - r.rttMs / 2));
  const beyondLive = live.map((r) => Math.max(0, Math.abs(r.errMs) - r.halfRttMs));
  const lines = [
    `Sync (ms). Page: ${pages.length} late joins in Chromium; server: ${live.length} live-stream starts; one MP3 frame = ${f(FRAME_MS)} ms.`,
    '',
    '| measure | p50 | p95 | max | target | met |',
    '| --- | ---: | ---: | ---: | ---: | :---: |',
    `| page playback − server position, \\|error\\| | ${f(pct(serverAbs, 0.5))} | ${f(pct(serverAbs, 0.95))} | ${f(Math.max(...serverAbs))} | p95 ≤ ${PAGE_TARGET_MS} | ${pct(serverAbs, 0.95) <= PAGE_TARGET_MS ? 'yes' : 'NO'} |`,
    `| (± half the round trip of that reading) | ${f(
      pct(
        pages.map((r) => r.rttMs / 2),
        0.5,
      ),
    )} | ${f(
      pct(
        pages.map((r) => r.rttMs / 2),
        0.95,
      ),
    )} | | | |`,
    `| page playback − its own station clock, \\|error\\| | ${f(pct(selfAbs, 0.5))} | ${f(pct(selfAbs, 0.95))} | ${f(Math.max(...selfAbs))} | | |`,
    `| live MP3 late-join start − station position, \\|error\\| | ${f(pct(liveAbs, 0.5))} | ${f(pct(liveAbs, 0.95))} | ${f(Math.max(...liveAbs))} | ≤ ${f(FRAME_MS)} | ${pct(liveAbs, 0.95) <= FRAME_MS ? 'yes' : 'NO'} |`,
    `| (± uncertainty of that reading) | ${f(
      pct(
        live.map((r) => r.halfRttMs),
        0.5,
      ),
    )} | ${f(
      pct(
        live.map((r) => r.halfRttMs),
        0.95,
      ),
    )} | | | |`,
    `| page: \\|error\\| beyond its ± | ${f(pct(beyondPage, 0.5))} | ${f(pct(beyondPage, 0.95))} | ${f(Math.max(...beyondPage))} | | |`,
    `| live start: \\|error\\| beyond its ± | ${f(pct(beyondLive, 0.5))} | ${f(pct(beyondLive, 0.95))} | ${f(Math.max(...beyondLive))} | | |`,
    '',
    `Signed page errors (ms): ${pages.map((r) => f(r.server)).join(', ')}`,
    `Signed live start errors (ms): ${live.map((r) => f(r.errMs)).join(', ')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
