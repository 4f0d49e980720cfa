import { describe, expect, it } from 'vitest';
import type { ScheduleEntry } from '../../web/src/protocol';
import {
  ChunkPlayStatus,
  StationScheduler,
  holdSchedule,
  placeChunk,
  planReconcile,
  type AudioOutput,
  type KnownChunk,
  type PlayableBuffer,
} from '../../web/src/scheduler';
import type { TimeMapping } from '../../web/src/timeline';
import { mp3WithLameTag } from './fixtures';

const T0 = 1_764_072_000_000; // server ms

function entry(seq: number, startsAt: number, durationSec: number, request = 'r1'): ScheduleEntry {
  return {
    request_id: request,
    chunk_id: `${request}-c${seq}`,
    sequence_number: seq,
    url: `/api/audio/chunks/${request}-c${seq}`,
    text: `Sentence ${seq}.`,
    starts_at: startsAt,
    duration_sec: durationSec,
  };
}

function known(...items: [ScheduleEntry, boolean][]): Map<string, KnownChunk> {
  return new Map(items.map(([e, done]) => [e.chunk_id, { entry: e, done }]));
}

describe('planReconcile', () => {
  const a = entry(0, T0, 2);
  const b = entry(1, T0 + 2000, 1.5);
  const c = entry(2, T0 + 3500, 1);

  it('starts every entry not yet known and not over, in start order', () => {
    const plan = planReconcile(new Map(), { paused: false, entries: [c, a, b] }, T0 + 500);
    expect(plan.start.map((e) => e.chunk_id)).toEqual([a.chunk_id, b.chunk_id, c.chunk_id]);
    expect(plan.stop).toEqual([]);
  });

  it('skips entries that already ended', () => {
    const plan = planReconcile(new Map(), { paused: false, entries: [a, b, c] }, T0 + 2100);
    expect(plan.start.map((e) => e.chunk_id)).toEqual([b.chunk_id, c.chunk_id]);
  });

  it('keeps what is scheduled with the same timing (new chunks appended)', () => {
    const plan = planReconcile(
      known([a, false], [b, false]),
      { paused: false, entries: [a, b, c] },
      T0 + 100,
    );
    expect(plan).toEqual({ stop: [], start: [c], forget: [] });
  });

  it('tolerates a millisecond of rounding in starts_at', () => {
    const moved = { ...b, starts_at: b.starts_at + 1 };
    expect(planReconcile(known([b, false]), { paused: false, entries: [moved] }, T0).start).toEqual([]);
  });

  it('stops entries that vanished (skip/stop)', () => {
    const next = entry(0, T0 + 3000, 2, 'r2');
    const plan = planReconcile(known([a, false], [b, false]), { paused: false, entries: [next] }, T0 + 1000);
    expect(plan.stop).toEqual([a.chunk_id, b.chunk_id]);
    expect(plan.start).toEqual([next]);
  });

  it('stops everything when paused, and restarts with new times on resume', () => {
    const paused = planReconcile(known([a, false], [b, false]), { paused: true, entries: [a, b] }, T0 + 500);
    expect(paused).toEqual({ stop: [a.chunk_id, b.chunk_id], start: [], forget: [] });
    const resumedA = { ...a, starts_at: a.starts_at + 10_000 };
    const resumed = planReconcile(known([a, false]), { paused: false, entries: [resumedA] }, T0 + 10_600);
    expect(resumed).toEqual({ stop: [a.chunk_id], start: [resumedA], forget: [] });
  });

  it('forgets finished chunks that left the schedule, never restarts them', () => {
    const plan = planReconcile(known([a, true], [b, false]), { paused: false, entries: [b, c] }, T0 + 2500);
    expect(plan).toEqual({ stop: [], start: [c], forget: [a.chunk_id] });
    const again = planReconcile(known([a, true]), { paused: false, entries: [a] }, T0 + 1000);
    expect(again.start).toEqual([]);
  });
});

describe('placeChunk', () => {
  const rate = 48000;
  const e = entry(0, T0, 2);

  it('starts on time at the mapped origin, snapped to a whole frame', () => {
    const p = placeChunk({
      entry: e,
      frames: 96000,
      sampleRate: rate,
      mappedOrigin: 10.00001,
      currentTime: 9,
      previous: null,
    });
    expect(p).toEqual({
      origin: Math.round(10.00001 * rate) / rate,
      when: p!.origin,
      offset: 0,
      joined: false,
    });
  });

  it('joins a late listener at the live position (offset into the chunk)', () => {
    const p = placeChunk({
      entry: e,
      frames: 96000,
      sampleRate: rate,
      mappedOrigin: 5,
      currentTime: 5.7,
      previous: null,
      leadSec: 0.05,
    })!;
    expect(p.when).toBeCloseTo(5.75, 9);
    expect(p.offset).toBeCloseTo(0.75, 9);
    expect(p.when - p.offset).toBeCloseTo(p.origin, 9); // still aligned with the station
  });

  it('is null once the chunk is over', () => {
    expect(
      placeChunk({
        entry: e,
        frames: 96000,
        sampleRate: rate,
        mappedOrigin: 5,
        currentTime: 7,
        previous: null,
      }),
    ).toBeNull();
  });

  it('chains to the previous chunk sample-exactly, ignoring mapping jitter', () => {
    const next = entry(1, T0 + 2000, 1);
    const previous = { origin: 10, frames: 96000, endsAt: T0 + 2000 };
    const p = placeChunk({
      entry: next,
      frames: 48000,
      sampleRate: rate,
      mappedOrigin: 12.004, // 4 ms of jitter
      currentTime: 11,
      previous,
    })!;
    expect(p).toEqual({ origin: 12, when: 12, offset: 0, joined: true });
  });

  it('re-anchors when chaining drifted too far from the station clock', () => {
    const next = entry(1, T0 + 2000, 1);
    const p = placeChunk({
      entry: next,
      frames: 48000,
      sampleRate: rate,
      mappedOrigin: 12.05,
      currentTime: 11,
      previous: { origin: 10, frames: 96000, endsAt: T0 + 2000 },
    })!;
    expect(p.joined).toBe(false);
    expect(p.origin).toBeCloseTo(12.05, 9);
  });

  it('does not chain across a gap in the station (underrun, next request)', () => {
    const later = entry(1, T0 + 2400, 1);
    const p = placeChunk({
      entry: later,
      frames: 48000,
      sampleRate: rate,
      mappedOrigin: 12.4,
      currentTime: 11,
      previous: { origin: 10, frames: 96000, endsAt: T0 + 2000 },
    })!;
    expect(p.joined).toBe(false);
    expect(p.origin).toBeCloseTo(12.4, 9);
  });
});

// ---- StationScheduler with a fake audio seam ----

interface FakeBuffer extends PlayableBuffer {
  chunk: string;
  start?: number;
}

interface PlayCall {
  buffer: FakeBuffer;
  when: number;
  offset: number;
  stopped: boolean;
  end: () => void;
}

/**
 * A fake world: local performance time P (ms) drives a context clock
 * C = P/1000 − 100 (s); the server runs 5 s ahead of local time.
 */
interface WorldOptions {
  decodedFrames?: (chunk: string) => number;
  bytes?: (chunk: string) => Uint8Array;
  /** Each mapping reading is off by up to ± this (the real output clock jitters). */
  jitterMs?: number;
}

function world(options: WorldOptions = {}) {
  let flip = 1;
  const rate = 48000;
  const timeOrigin = T0 - 200_000 - 5000; // so that server time = T0 at P = 200 000
  let perf = 200_000;
  const contextOf = (p: number) => p / 1000 - 100;
  const plays: PlayCall[] = [];
  const fetches: string[] = [];
  const failOnce = new Set<string>();
  const durations = new Map<string, number>();
  const chunkOf = new Map<ArrayBuffer, string>();
  const output: AudioOutput<FakeBuffer> = {
    sampleRate: rate,
    get currentTime() {
      return contextOf(perf);
    },
    outputTimestamp: () => ({ contextTime: contextOf(perf), performanceTime: perf }),
    heardTime: () => contextOf(perf),
    decode: async (bytes) => {
      const chunk = chunkOf.get(bytes)!;
      const frames = options.decodedFrames?.(chunk) ?? Math.round(durations.get(chunk)! * rate);
      return { chunk, length: frames, sampleRate: rate };
    },
    slice: (buffer, start, count) => ({ ...buffer, start, length: count }),
    play: (buffer, when, offset, onEnded) => {
      const call: PlayCall = { buffer, when, offset, stopped: false, end: onEnded };
      plays.push(call);
      return {
        stop: () => {
          call.stopped = true;
          onEnded();
        },
      };
    },
  };
  let mappingAvailable = true;
  const scheduler = new StationScheduler<FakeBuffer>({
    output,
    loadBytes: async (e) => {
      fetches.push(e.chunk_id);
      if (failOnce.delete(e.chunk_id)) throw new Error('HTTP 503');
      durations.set(e.chunk_id, e.duration_sec);
      const bytes = (options.bytes?.(e.chunk_id) ?? new TextEncoder().encode(e.chunk_id)).slice().buffer;
      chunkOf.set(bytes, e.chunk_id);
      return bytes;
    },
    mapping: (): TimeMapping | null =>
      mappingAvailable
        ? {
            clockOffsetMs: 5000 + (flip = -flip) * (options.jitterMs ?? 0),
            timeOrigin,
            output: { contextTime: contextOf(perf), performanceTime: perf },
          }
        : null,
    serverNow: () => timeOrigin + perf + 5000,
    leadSec: 0.04,
  });
  const played: string[] = [];
  scheduler.on('played', (e) => played.push(e.chunk_id));
  const failed: string[] = [];
  scheduler.on('failed', (e) => failed.push(e.chunk_id));
  return {
    scheduler,
    plays,
    fetches,
    played,
    failed,
    failOnce,
    /** Context time at which server time `ms` is heard. */
    contextAt: (ms: number) => contextOf(ms - 5000 - timeOrigin),
    advance: (ms: number) => {
      perf += ms;
    },
    setMapping: (on: boolean) => {
      mappingAvailable = on;
    },
  };
}

/** Lets the scheduler's promise chain run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('holding while out of touch with the server', () => {
  const entries = [entry(0, T0, 2), entry(1, T0 + 2000, 2), entry(2, T0 + 4000, 2)];

  it('keeps only the chunk being sounded, with its timing', () => {
    expect(holdSchedule({ paused: false, entries }, 'r1-c1')).toEqual({
      paused: false,
      entries: [entries[1]],
    });
    expect(holdSchedule({ paused: false, entries }, null).entries).toEqual([]);
  });

  it('the scheduler finishes the chunk it sounds and starts nothing after it', async () => {
    const w = world();
    w.scheduler.reconcile({ paused: false, entries });
    await settle();
    expect(w.plays.map((p) => p.buffer.chunk)).toEqual(entries.map((e) => e.chunk_id));
    w.advance(2500); // the middle chunk is sounding; the connection drops
    w.plays[0]!.end();
    w.scheduler.reconcile(holdSchedule({ paused: false, entries }, 'r1-c1'));
    await settle();
    expect(w.plays.map((p) => p.stopped)).toEqual([false, false, true]);
    expect(w.plays).toHaveLength(3);
    // Reconnected: the station (restarted) resumes chunk 2 later than planned; it plays once, then.
    const resumed = { ...entries[2]!, starts_at: T0 + 7000 };
    w.advance(3000);
    w.scheduler.reconcile({ paused: false, entries: [resumed] });
    await settle();
    expect(w.plays).toHaveLength(4);
    expect(w.plays[3]!.buffer.chunk).toBe('r1-c2');
    expect(w.plays[3]!.when).toBeCloseTo(w.contextAt(T0 + 7000), 2);
  });
});

describe('StationScheduler', () => {
  it('plays each chunk at its station time, chained sample-exactly within a request', async () => {
    const w = world({ jitterMs: 3 });
    const entries = [entry(0, T0 + 1000, 1.5), entry(1, T0 + 2500, 2), entry(2, T0 + 4500, 0.75)];
    w.scheduler.reconcile({ paused: false, entries });
    await settle();
    expect(w.plays.map((p) => p.buffer.chunk)).toEqual(entries.map((e) => e.chunk_id));
    expect(Math.abs(w.plays[0]!.when - w.contextAt(T0 + 1000))).toBeLessThanOrEqual(0.0031);
    expect(w.plays[1]!.when).toBe(w.plays[0]!.when + 72000 / 48000);
    expect(w.plays[2]!.when).toBe(w.plays[1]!.when + 96000 / 48000);
    expect(w.plays.every((p) => p.offset === 0)).toBe(true);
    expect(w.plays.map((p) => p.buffer.length)).toEqual([72000, 96000, 36000]);
  });

  it('joins late at the live position', async () => {
    const w = world();
    w.advance(1200); // server time T0 + 1200
    w.scheduler.reconcile({ paused: false, entries: [entry(0, T0, 2)] });
    await settle();
    const play = w.plays[0]!;
    expect(play.offset).toBeCloseTo(1.2 + 0.04, 6);
    expect(play.when).toBeCloseTo(w.contextAt(T0 + 1240), 6);
  });

  it('fetches each chunk once, even across schedules and a resync', async () => {
    const w = world();
    const a = entry(0, T0 + 1000, 1);
    const b = entry(1, T0 + 2000, 1);
    w.scheduler.reconcile({ paused: false, entries: [a] });
    w.scheduler.reconcile({ paused: false, entries: [a, b] });
    await settle();
    w.scheduler.resync();
    await settle();
    expect(w.fetches).toEqual([a.chunk_id, b.chunk_id]);
    expect(w.plays).toHaveLength(4); // two placed, stopped by the resync, placed again
    expect(w.plays.slice(0, 2).every((p) => p.stopped)).toBe(true);
  });

  it('trims what an untrimming decoder left, by the LAME tag', async () => {
    // 48 kHz MP3, delay 576 and padding 960: 1105 extra frames first, 431 last.
    const w = world({ decodedFrames: () => 48000 + 1536, bytes: () => mp3WithLameTag(48000, 576, 960) });
    w.scheduler.reconcile({ paused: false, entries: [entry(0, T0 + 500, 1)] });
    await settle();
    expect(w.plays[0]!.buffer).toMatchObject({ start: 1105, length: 48000 });
    expect(w.scheduler.chunks()[0]!.behaviour).toBe('untrimmed');
  });

  it('plays from the start when the length fits nothing known', async () => {
    const w = world({ decodedFrames: () => 48000 + 1536 });
    w.scheduler.reconcile({ paused: false, entries: [entry(0, T0 + 500, 1)] });
    await settle();
    expect(w.plays[0]!.buffer).toMatchObject({ start: 0, length: 48000 });
    expect(w.scheduler.chunks()[0]!.behaviour).toBe('unknown');
  });

  it('stops chunks that vanish from the schedule and when paused', async () => {
    const w = world();
    const a = entry(0, T0 + 100, 2);
    const b = entry(1, T0 + 2100, 2);
    w.scheduler.reconcile({ paused: false, entries: [a, b] });
    await settle();
    w.scheduler.reconcile({ paused: false, entries: [a] });
    expect(w.plays[1]!.stopped).toBe(true);
    expect(w.plays[0]!.stopped).toBe(false);
    w.scheduler.reconcile({ paused: true, entries: [] });
    expect(w.plays[0]!.stopped).toBe(true);
    expect(w.scheduler.chunks()).toEqual([]);
    expect(w.played).toEqual([]); // a stop is not "played"
  });

  it('a chunk cancelled while loading is never played', async () => {
    const w = world();
    const a = entry(0, T0 + 100, 2);
    w.scheduler.reconcile({ paused: false, entries: [a] });
    w.scheduler.reconcile({ paused: false, entries: [] });
    await settle();
    expect(w.plays).toEqual([]);
  });

  it('reports played chunks and what is audible', async () => {
    const w = world();
    const a = entry(0, T0 + 100, 1, 'r1');
    w.scheduler.reconcile({ paused: false, entries: [a] });
    await settle();
    const heard = w.scheduler.audibleAt(w.contextAt(T0 + 600));
    expect(heard?.entry.chunk_id).toBe(a.chunk_id);
    expect(heard?.positionSec).toBeCloseTo(0.5, 6);
    expect(w.scheduler.audibleAt(w.contextAt(T0 + 1200))).toBeNull();
    w.plays[0]!.end();
    expect(w.played).toEqual([a.chunk_id]);
    expect(w.scheduler.chunks()[0]!.status).toBe(ChunkPlayStatus.Done);
  });

  it('waits for the clock before placing anything', async () => {
    const w = world();
    w.setMapping(false);
    w.scheduler.reconcile({ paused: false, entries: [entry(0, T0 + 500, 1)] });
    await settle();
    expect(w.plays).toEqual([]);
    w.setMapping(true);
    w.scheduler.resync();
    await settle();
    expect(w.plays).toHaveLength(1);
  });

  it('retries a chunk whose fetch failed on the next schedule', async () => {
    const w = world();
    const a = entry(0, T0 + 500, 1);
    w.failOnce.add(a.chunk_id);
    w.scheduler.reconcile({ paused: false, entries: [a] });
    await settle();
    expect(w.failed).toEqual([a.chunk_id]);
    expect(w.plays).toEqual([]);
    w.scheduler.reconcile({ paused: false, entries: [a] });
    await settle();
    expect(w.plays).toHaveLength(1);
  });

  it('measures drift of the audible chunk against the current mapping', async () => {
    const w = world();
    w.scheduler.reconcile({ paused: false, entries: [entry(0, T0 + 100, 2)] });
    await settle();
    w.advance(500);
    expect(w.scheduler.driftSec()).toBeCloseTo(0, 6);
  });

  it('bounds memory: finished chunks are forgotten once old', async () => {
    const w = world();
    const entries = Array.from({ length: 30 }, (_, i) => entry(i, T0 + 100 + i * 1000, 1));
    w.scheduler.reconcile({ paused: false, entries });
    await settle();
    for (const p of w.plays) p.end();
    w.advance(40_000);
    w.scheduler.reconcile({ paused: false, entries });
    expect(w.scheduler.chunks()).toHaveLength(0);
    expect(w.played).toHaveLength(30);
  });
});
