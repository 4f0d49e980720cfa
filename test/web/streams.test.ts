/**
 * The audio streams over real sockets with real MP3s: the per-request stream
 * (concatenation, progressive delivery, `from` cuts on CBR and VBR) and the
 * live station stream (silence, late join, pacing, pause), on the manual
 * clock; then a short real-clock check of late-join and pacing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenSigner } from '../../src/auth';
import { systemClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { silentLogger } from '../../src/log';
import { framePlayableStart, makeSilenceFrame, scanMp3, type Mp3Scan } from '../../src/media';
import {
  FileAudioStore,
  startPlaybackEngine,
  type EncodedAudio,
  type PlaybackEngine,
} from '../../src/playback';
import { startWebServer, type WebServer } from '../../src/web';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { decodedSamples, toneAudio, vbrAudio } from './support/audio';
import { eventually } from './support/eventually';
import { FakeNarration } from './support/narration';
import { SECRET, startWebHarness, type WebHarness } from './support/server';
import { StreamReader } from './support/stream-reader';
import { TestSocket } from './support/ws-client';

let tdb: TestDatabase;
let h: WebHarness;
let a700: EncodedAudio;
let a1000: EncodedAudio;
let a1500: EncodedAudio;
let vbr: EncodedAudio;

beforeAll(async () => {
  tdb = await openTestDatabase('pglite');
  [a700, a1000, a1500, vbr] = await Promise.all([
    toneAudio(700),
    toneAudio(1000),
    toneAudio(1500),
    vbrAudio(2000),
  ]);
});
afterAll(async () => {
  await tdb.close();
});
/** Hooks of the manual-clock suites (the real-clock suite at the end builds its own engine). */
function withHarness(): void {
  beforeEach(async () => {
    await tdb.reset();
    h = await startWebHarness(tdb);
  });
  afterEach(async () => {
    await h.dispose();
  });
}

/** The audio frames of an MP3 (no ID3, no Xing/Info frame), found by the media scanner. */
function framesOf(mp3: Uint8Array): Buffer {
  const { frames } = scanMp3(mp3);
  const last = frames.at(-1)!;
  return Buffer.from(mp3.subarray(frames[0]!.offset, last.offset + last.length));
}

/** True when the bytes are nothing but back-to-back MP3 frames from offset 0. */
function isCleanStream(bytes: Uint8Array): { clean: boolean; scan: Mp3Scan } {
  const scan = scanMp3(bytes);
  let at = 0;
  for (const f of scan.frames) {
    if (f.offset !== at) return { clean: false, scan };
    at += f.length;
  }
  return { clean: at === bytes.length && scan.infoFrame === undefined, scan };
}

const get = (path: string, token = h.token()) =>
  h.fetch(path, { headers: { Authorization: `Bearer ${token}` } });

describe('GET /api/audio/stream/{request_id}', () => {
  withHarness();
  it('concatenates the chunks into one clean MP3 that decodes to the expected duration', async () => {
    const chunks = [a1000, a1500, a700];
    const r = await h.say('S', chunks);
    const res = await get(`/api/audio/stream/${r.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/mpeg');
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.equals(Buffer.concat(chunks.map((c) => framesOf(c.mp3))))).toBe(true);
    const { clean, scan } = isCleanStream(bytes);
    expect(clean).toBe(true);
    const frames = chunks.reduce((n, c) => n + c.mp3FrameCount, 0);
    expect(scan.frames).toHaveLength(frames);
    // Decoding (no LAME tag left to trim by) yields every frame's samples…
    const samples = await decodedSamples(bytes);
    expect(samples).toBe(frames * 1152);
    // …which is the chunks' playable audio plus each chunk's encoder delay and padding (< 2 frames each).
    const playable = chunks.reduce((n, c) => n + c.sampleCount, 0);
    expect(samples - playable).toBeGreaterThan(0);
    expect(samples - playable).toBeLessThan(chunks.length * 2 * 1152);
    console.info(
      `[measure] request stream: ${samples} samples decoded (${(samples / 48).toFixed(1)} ms) for ${(playable / 48).toFixed(1)} ms of playable audio in ${chunks.length} chunks`,
    );
  });

  it('sends each chunk the moment it is stored and ends after the last (no clock needed)', async () => {
    const w = h.t.engine.writer;
    const r = await w.create('c1', 'P', { mode: 'say' });
    await w.addChunk(r.id, 0, { text: 'p0', audio: a1000 });
    const reader = new StreamReader(await get(`/api/audio/stream/${r.id}`));
    const first = framesOf(a1000.mp3);
    expect(await reader.atLeast(first.length)).toBe(true);
    expect(reader.ended).toBe(false);
    await w.addChunk(r.id, 1, { text: 'p1', audio: a700 });
    const second = framesOf(a700.mp3);
    expect(await reader.atLeast(first.length + second.length)).toBe(true);
    expect(reader.ended).toBe(false);
    await w.complete(r.id, 2);
    const bytes = await reader.end();
    expect(reader.ended).toBe(true);
    expect(bytes.equals(Buffer.concat([first, second]))).toBe(true);
    await eventually(() => h.web.stats().streams === 0);
  });

  it('ends when the request is skipped or fails mid-generation, and unsubscribes on client disconnect', async () => {
    const w = h.t.engine.writer;
    // The DM's token: these requests are still queued (the gap after a skip), which players may not stream.
    const dm = h.token('dm');
    const baseline = h.web.stats().stationListeners;
    const r = await w.create('c1', 'K', { mode: 'say' });
    await w.addChunk(r.id, 0, { text: 'k0', audio: a1000 });
    const reader = new StreamReader(await get(`/api/audio/stream/${r.id}`, dm));
    await reader.atLeast(1);
    h.t.engine.stations.get('c1').skip();
    await reader.end();
    expect(reader.ended).toBe(true);

    // Generation failing ends the stream after what was stored.
    const rf = await w.create('c1', 'KF', { mode: 'say' });
    await w.addChunk(rf.id, 0, { text: 'f0', audio: a700 });
    const failing = new StreamReader(await get(`/api/audio/stream/${rf.id}`, dm));
    await failing.atLeast(framesOf(a700.mp3).length);
    expect(failing.ended).toBe(false);
    await w.fail(rf.id, 'tts gave up');
    expect((await failing.end()).equals(framesOf(a700.mp3))).toBe(true);

    const r2 = await w.create('c1', 'K2', { mode: 'say' });
    await w.addChunk(r2.id, 0, { text: 'k0', audio: a700 });
    const controller = new AbortController();
    const res = await h.fetch(`/api/audio/stream/${r2.id}`, {
      headers: { Authorization: `Bearer ${dm}` },
      signal: controller.signal,
    });
    const r2reader = new StreamReader(res);
    await r2reader.atLeast(1);
    expect(h.web.stats().stationListeners).toBe(baseline + 1);
    controller.abort();
    await eventually(() => h.web.stats().stationListeners === baseline && h.web.stats().streams === 0);
  });

  it('serves finished requests from storage', async () => {
    const r = await h.say('F', [a700]);
    h.clock.advance(5_000);
    expect(h.t.engine.stations.get('c1').findRequest(r.id)).toBeUndefined();
    await h.t.engine.repository.flush();
    const bytes = Buffer.from(await (await get(`/api/audio/stream/${r.id}`)).arrayBuffer());
    expect(bytes.equals(framesOf(a700.mp3))).toBe(true);
  });

  it('`from` skips whole chunks, then cuts at the first frame at or after the time (CBR)', async () => {
    const r = await h.say('C', [a1000, a1500]);
    const from = a1000.durationMs / 1000 + 0.3;
    const bytes = Buffer.from(await (await get(`/api/audio/stream/${r.id}?from=${from}`)).arrayBuffer());
    const scan = scanMp3(a1500.mp3);
    const index = scan.frames.findIndex((_, i) => framePlayableStart(scan, i) / 48_000 >= 0.3 - 1e-9);
    expect(framePlayableStart(scan, index - 1) / 48_000).toBeLessThan(0.3);
    const f = scan.frames[index]!;
    const last = scan.frames.at(-1)!;
    expect(bytes.equals(Buffer.from(a1500.mp3.subarray(f.offset, last.offset + last.length)))).toBe(true);
    expect(isCleanStream(bytes).clean).toBe(true);
    expect(await decodedSamples(bytes)).toBe((scan.frames.length - index) * 1152);
    console.info(
      `[measure] from=${from.toFixed(3)} s → cut at ${(framePlayableStart(scan, index) / 48).toFixed(2)} ms into chunk 2 (asked 300 ms)`,
    );
  });

  it('`from` cuts VBR on frame boundaries by walking frame headers', async () => {
    const scan = scanMp3(vbr.mp3);
    expect(new Set(scan.frames.map((f) => f.length)).size).toBeGreaterThan(1); // really VBR
    expect(scan.hasLameTag).toBe(true);
    const r = await h.say('V', [vbr, a700]);
    for (const at of [0.77, 1.234, 0.0001]) {
      const bytes = Buffer.from(await (await get(`/api/audio/stream/${r.id}?from=${at}`)).arrayBuffer());
      const index = scan.frames.findIndex((_, i) => framePlayableStart(scan, i) / 48_000 >= at - 1e-9);
      const f = scan.frames[index]!;
      const last = scan.frames.at(-1)!;
      const expected = Buffer.concat([
        Buffer.from(vbr.mp3.subarray(f.offset, last.offset + last.length)),
        framesOf(a700.mp3),
      ]);
      expect(bytes.equals(expected), `from=${at}`).toBe(true);
      expect(isCleanStream(bytes).clean).toBe(true);
    }
  });

  it('`from` past the end gives an empty stream; bad `from` values are 400', async () => {
    const r = await h.say('E', [a700]);
    const empty = await get(`/api/audio/stream/${r.id}?from=30`);
    expect(empty.status).toBe(200);
    expect((await empty.arrayBuffer()).byteLength).toBe(0);
    for (const bad of ['abc', '-1', '1e3', '', 'Infinity', '0x10', '1&from=2', '1.2.3']) {
      const res = await get(`/api/audio/stream/${r.id}?from=${bad}`);
      expect(res.status, bad).toBe(400);
    }
  });

  it('refuses other campaigns, unknown requests and bad ids', async () => {
    const r = await h.say('A', [a700]);
    expect((await get(`/api/audio/stream/${r.id}`, h.token('player', 'c2'))).status).toBe(403);
    expect((await get(`/api/audio/stream/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await get('/api/audio/stream/123')).status).toBe(400);
    expect((await h.fetch(`/api/audio/stream/${r.id}`)).status).toBe(401);
  });
});

describe('GET /api/campaigns/{id}/audio/live', () => {
  withHarness();
  const silence = Buffer.from(makeSilenceFrame({ sampleRate: 48_000, channels: 1, bitrateKbps: 32 }));

  /** Body bytes the server has written to live-stream responses so far. */
  let liveWritten = 0;
  beforeEach(() => {
    liveWritten = 0;
    h.web.server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      if (!req.url?.includes('/audio/live')) return;
      const write = res.write.bind(res) as (chunk: Uint8Array) => boolean;
      res.write = ((chunk: Uint8Array) => {
        liveWritten += chunk.length;
        return write(chunk);
      }) as typeof res.write;
    });
  });

  /** Waits until the reader holds every byte the server wrote (instead of sleeping and hoping). */
  async function delivered(reader: StreamReader): Promise<void> {
    expect(await reader.until(() => reader.length >= liveWritten, 30_000)).toBe(true);
    expect(reader.length).toBe(liveWritten);
  }

  /** Advances the manual clock in pacing ticks, letting the sockets flush between them. */
  async function run(ms: number, step = 100): Promise<void> {
    for (let t = 0; t < ms; t += step) {
      h.clock.advance(step);
      await new Promise((r) => setImmediate(r));
    }
  }

  it('emits silence frames in real time while idle', async () => {
    const reader = new StreamReader(await get('/api/campaigns/c1/audio/live'));
    await run(1_000);
    await reader.until(() => reader.length >= silence.length * 42);
    const bytes = reader.bytes;
    await reader.cancel();
    expect(bytes.length % silence.length).toBe(0);
    const frames = bytes.length / silence.length;
    // 1 s of clock at 24 ms per frame; silence is never sent ahead of the clock.
    expect(frames).toBe(42);
    for (let i = 0; i < frames; i++)
      expect(bytes.subarray(i * silence.length, (i + 1) * silence.length).equals(silence)).toBe(true);
    expect(await decodedSamples(bytes)).toBe(frames * 1152);
  });

  it('joins at the station’s current frame, plays the chunk frames as they air, then silence', async () => {
    await h.say('L', [a1000]);
    h.clock.advance(480);
    const reader = new StreamReader(await get('/api/campaigns/c1/audio/live'));
    const scan = scanMp3(a1000.mp3);
    const lead = scan.encoderDelay + 529;
    // The frame whose playable start is nearest 480 ms into the chunk.
    const firstIndex = Math.round((0.48 * 48_000 + lead) / 1152);
    const frameBytes = (i: number) =>
      Buffer.from(
        a1000.mp3.subarray(scan.frames[i]!.offset, scan.frames[i]!.offset + scan.frames[i]!.length),
      );
    await reader.atLeast(frameBytes(firstIndex).length);
    await delivered(reader);
    const burst = reader.length;
    // At most the lead (500 ms ≈ 21 frames) ahead of the clock, in one burst.
    expect(burst).toBeLessThanOrEqual(22 * frameBytes(firstIndex).length);
    await run(1_500);
    await delivered(reader);
    const bytes = reader.bytes;
    await reader.cancel();
    expect(bytes.subarray(0, frameBytes(firstIndex).length).equals(frameBytes(firstIndex))).toBe(true);
    // Every chunk frame from there to the end, in order, then only silence.
    let at = 0;
    for (let i = firstIndex; i < scan.frames.length; i++) {
      const f = frameBytes(i);
      expect(bytes.subarray(at, at + f.length).equals(f), `frame ${i}`).toBe(true);
      at += f.length;
    }
    const rest = bytes.subarray(at);
    expect(rest.length % silence.length).toBe(0);
    expect(rest.length / silence.length).toBeGreaterThan(10);
    expect(rest.subarray(0, silence.length).equals(silence)).toBe(true);
    expect(await decodedSamples(bytes)).toBe(scanMp3(bytes).frames.length * 1152);
    console.info(
      `[measure] live join at 480 ms: first frame starts ${((1152 * firstIndex - lead) / 48).toFixed(2)} ms into the chunk; burst ${burst} bytes`,
    );
  });

  /** Labels each frame of a live capture: `s` for silence, `k:i` for frame i of chunk audio k. */
  function label(bytes: Buffer, audios: EncodedAudio[]): string[] {
    const known = new Map<string, string>();
    audios.forEach((a, k) => {
      for (const [i, f] of scanMp3(a.mp3).frames.entries()) {
        known.set(Buffer.from(a.mp3.subarray(f.offset, f.offset + f.length)).toString('base64'), `${k}:${i}`);
      }
    });
    known.set(silence.toString('base64'), 's');
    return scanMp3(bytes).frames.map(
      (f) => known.get(bytes.subarray(f.offset, f.offset + f.length).toString('base64')) ?? '?',
    );
  }

  /** Records the audio store's reads from now on; `done()` resolves once they and their callers' continuations ran. */
  function recordStoreReads(): { done(): Promise<void> } {
    const store = h.t.engine.store;
    const read = store.get.bind(store);
    const reads: Promise<unknown>[] = [];
    vi.spyOn(store, 'get').mockImplementation((key) => {
      const p = read(key);
      reads.push(p);
      return p;
    });
    return {
      done: async () => {
        await Promise.allSettled(reads);
        await new Promise((r) => setImmediate(r));
      },
    };
  }

  /** Runs of equal kind: `s×12`, `0:1-0:42`. */
  function runs(labels: string[]): string[] {
    const out: string[] = [];
    let i = 0;
    while (i < labels.length) {
      const l = labels[i]!;
      if (l === 's' || l === '?') {
        let j = i;
        while (labels[j] === l) j++;
        out.push(`${l}×${j - i}`);
        i = j;
        continue;
      }
      const [k, n] = l.split(':').map(Number) as [number, number];
      let j = i + 1;
      while (labels[j] === `${k}:${n + (j - i)}`) j++;
      out.push(`${l}-${labels[j - 1]}`);
      i = j;
    }
    return out;
  }

  it('follows the station across chunks and requests, in real time', async () => {
    // Distinct pitches, so every frame tells which chunk it came from.
    const [c0, c1, c2] = await Promise.all([toneAudio(1000, 300), toneAudio(700, 500), toneAudio(1500, 700)]);
    const reader = new StreamReader(await get('/api/campaigns/c1/audio/live'));
    await reader.atLeast(1);
    const reads = recordStoreReads();
    await h.say('one', [c0!, c1!]);
    await h.say('two', [c2!]);
    // The stream reads each chunk's MP3 as the chunk is stored; the manual clock below runs far
    // faster than real time, so let those reads land first (a busy disk would otherwise turn a
    // late chunk into the silence it airs past its load grace).
    await reads.done();
    const total = c0!.durationMs + c1!.durationMs + 400 + c2!.durationMs + 1_000;
    await run(total);
    await delivered(reader);
    const bytes = reader.bytes;
    await reader.cancel();
    const labels = label(bytes, [c0!, c1!, c2!]);
    const shape = runs(labels);
    const n = (a: EncodedAudio) => scanMp3(a.mp3).frames.length - 1;
    const [a1000, a700, a1500] = [c0!, c1!, c2!];
    // Chunk 0 from its start, chunk 1 right after (gapless), the 400 ms gap, chunk 2, then silence.
    if (shape[0]?.startsWith('s')) shape.shift();
    expect(shape[0]).toMatch(/^0:[01]-/);
    shape.unshift('s×0');
    expect(shape[1]).toMatch(new RegExp(`^0:[01]-0:(${n(a1000)}|${n(a1000) - 1})$`));
    expect(shape[2]).toMatch(new RegExp(`^1:[012]-1:(${n(a700)}|${n(a700) - 1})$`));
    expect(shape[3]).toMatch(/^s×(1[5-9])$/); // ≈ 400 ms
    expect(shape[4]).toMatch(new RegExp(`^2:[01]-2:(${n(a1500)}|${n(a1500) - 1})$`));
    expect(shape[5]).toMatch(/^s×\d+$/);
    expect(shape).toHaveLength(6);
    // Real-time pacing: what was sent covers the clock time that passed, plus at most a small lead.
    const sentMs = labels.length * 24;
    expect(sentMs).toBeGreaterThanOrEqual(total);
    expect(sentMs).toBeLessThanOrEqual(total + 100);
    console.info(
      `[measure] live across 2 requests: ${shape.join(' ')}; ${sentMs} ms sent for ${total.toFixed(0)} ms of clock`,
    );
  });

  it('airs silence while paused and resumes at the paused frame', async () => {
    await h.say('P', [a1500]);
    const reader = new StreamReader(await get('/api/campaigns/c1/audio/live'));
    await reader.atLeast(1);
    await run(600);
    h.t.engine.stations.get('c1').pause();
    await run(1_000);
    h.t.engine.stations.get('c1').resume();
    await run(1_500);
    await delivered(reader);
    const bytes = reader.bytes;
    await reader.cancel();
    const shape = runs(label(bytes, [a1500]));
    // Up to the lead (500 ms) past the pause point had been sent already; then silence while
    // paused; on resume the station continues from the paused sample, i.e. the frame at 600 ms.
    expect(shape).toHaveLength(4);
    const scan = scanMp3(a1500.mp3);
    const pausedFrame = Math.round((0.6 * 48_000 + scan.encoderDelay + 529) / 1152);
    const [, sentUpTo] = shape[0]!.split('-') as [string, string];
    expect(Number(sentUpTo.split(':')[1]) - pausedFrame).toBeLessThanOrEqual(22);
    expect(shape[1]).toMatch(/^s×(19|2[0-3])$/); // the 1 s pause minus the 500 ms sent ahead
    expect(shape[2]).toBe(`0:${pausedFrame}-0:${scan.frames.length - 1}`);
    expect(shape[3]).toMatch(/^s×\d+$/);
  });

  it('drops a listener that does not read', async () => {
    await h.dispose();
    h = await startWebHarness(tdb, { limits: { maxBufferedBytes: 16 * 1024 } });
    const { port } = new URL(h.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(`GET /api/campaigns/c1/audio/live?token=${h.token()} HTTP/1.1\r\nHost: x\r\n\r\n`);
    socket.pause();
    await eventually(() => h.web.stats().streams === 1);
    // Hours of station time: far more than the socket buffers hold.
    for (let i = 0; i < 200 && h.web.stats().streams > 0; i++) await run(60_000, 100);
    expect(h.web.stats().streams).toBe(0);
    socket.destroy();
    expect(await (await h.fetch('/metrics')).text()).toMatch(
      /bardcast_web_clients_dropped_total\{reason="slow"\} 1/,
    );
  });
});

/**
 * The same server on the real clock (systemClock, real timers): a late
 * joiner's position and the live stream's lead checked by causality (bounds
 * that hold however slow the machine is); the figures are printed. About 2 s
 * of wall time on a quiet machine.
 */
describe('on the real clock', () => {
  let engine: PlaybackEngine;
  let web: WebServer;
  let audioDir: string;
  const tokens = new TokenSigner(SECRET);

  beforeAll(async () => {
    await tdb.reset();
    audioDir = await mkdtemp(path.join(tmpdir(), 'bardcast-rt-'));
    engine = await startPlaybackEngine({
      repository: tdb.repository,
      store: new FileAudioStore(audioDir),
      clock: systemClock,
      log: silentLogger,
    });
    await engine.campaigns.ensure('c1');
    const config = loadConfig({ TOKEN_SECRET: SECRET, DEFAULT_CAMPAIGN: 'c1' });
    const narration = new FakeNarration(() => engine.writer);
    web = await startWebServer(
      { config, log: silentLogger, clock: systemClock, engine, narration, tokens },
      { port: 0, host: '127.0.0.1' },
    );
  });
  afterAll(async () => {
    await web.close();
    await engine.stop();
    await rm(audioDir, { recursive: true, force: true });
  });

  it('a late joiner gets a position between the server_time it was told and its receipt; the live stream never runs ahead of real time by more than its lead', async () => {
    // Long enough that a busy machine can't let it end before the listener joins.
    const audio = await toneAudio(10_000);
    const token = tokens.sign('c1', 'player', 600);
    const r = await engine.writer.create('c1', 'real time', { mode: 'say' });
    await engine.writer.addChunk(r.id, 0, { text: 'rt', audio });
    await engine.writer.complete(r.id, 1);
    const startedAt = r.startedAt!.getTime();
    const station = engine.stations.get('c1');

    // Join once the station is at least 700 ms in (by its own clock, however long that takes).
    await eventually(() => (station.now()?.positionSec ?? 0) >= 0.7, 30_000);
    const s = new TestSocket(`${web.url.replace('http', 'ws')}/ws?campaign=c1&token=${token}`);
    const registered = await s.next('connection_registered');
    const started = await s.next('audio_stream_started');
    const receivedAt = Date.now();
    expect(started.is_late_join).toBe(true);
    // The position is the station's own, taken after registration and before receipt: never
    // earlier than server_time said, never ahead of the wall clock (a client corrects with server_time).
    const positionMs = (started.position_sec as number) * 1000;
    const consistencyMs = positionMs - ((registered.server_time as number) - startedAt);
    expect(consistencyMs).toBeGreaterThanOrEqual(-1); // position_sec is rounded to the ms
    const errorMs = receivedAt - startedAt - positionMs;
    expect(errorMs).toBeGreaterThanOrEqual(-1);

    // Live stream: wait for one second of audio to arrive, however long that takes; by then what
    // was sent can't exceed the real time since the request plus the lead (500 ms) and a frame.
    const requestedAt = Date.now();
    const reader = new StreamReader(await fetch(`${web.url}/api/campaigns/c1/audio/live?token=${token}`));
    const oneSecond = Math.ceil(1000 / 24) * scanMp3(audio.mp3).frames[1]!.length;
    expect(await reader.atLeast(oneSecond, 30_000)).toBe(true);
    const elapsed = Date.now() - requestedAt;
    const frames = scanMp3(reader.bytes).frames.length;
    await reader.cancel();
    const sentMs = frames * 24;
    expect(sentMs).toBeGreaterThanOrEqual(1000);
    expect(sentMs).toBeLessThanOrEqual(elapsed + 500 + 24);
    console.info(
      `[measure] real clock: position_sec vs server_time ${consistencyMs.toFixed(1)} ms; position behind wall clock at receipt ${errorMs.toFixed(1)} ms (joined ${receivedAt - startedAt} ms in); ` +
        `live sent ${sentMs} ms of audio in ${elapsed} ms`,
    );
    s.ws.terminate();
  });
});
