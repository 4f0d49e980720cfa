import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ChunkStatus,
  GenerationStatus,
  RequestStatus,
  StationStatus,
  type PlaybackRequest,
  type Station,
} from '../../src/playback';
import { audioOf } from '../support/audio';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { startTestEngine, type TestEngine } from '../support/engine';

let tdb: TestDatabase;
let t: TestEngine;
let station: Station;
let log: string[];

beforeAll(async () => {
  tdb = await openTestDatabase('pglite');
});
afterAll(async () => {
  await tdb.close();
});
beforeEach(async () => {
  await tdb.reset();
  t = await startTestEngine(tdb.repository);
  station = t.engine.stations.get('c1');
  log = [];
  const at = () => t.clock.now() - start;
  const start = t.clock.now();
  station.on('requestStarted', (e) => log.push(`${at()} start ${e.request.text}`));
  station.on('chunkStarted', (e) =>
    log.push(`${e.startsAt - start} chunk ${e.request.text}#${e.chunk.sequenceNumber}`),
  );
  station.on('requestEnded', (e) => log.push(`${at()} end ${e.request.text} ${e.status} ${e.reason}`));
});
afterEach(async () => {
  await t.dispose();
});

const w = () => t.engine.writer;

/** Creates a request and stores chunks of the given durations, then completes it. */
async function say(text: string, durations: number[], complete = true): Promise<PlaybackRequest> {
  const r = await w().create('c1', text, { mode: 'say' });
  for (const [i, d] of durations.entries())
    await w().addChunk(r.id, i, { text: `${text} ${i}`, audio: audioOf(d) });
  if (complete) await w().complete(r.id, durations.length);
  return r;
}

describe('station timeline', () => {
  it('goes on air when the first chunk exists and plays chunks back to back, exact to the ms', async () => {
    const r = await say('A', [1000, 1500, 700]);
    expect(station.state.status).toBe(StationStatus.OnAir);
    t.clock.advance(999);
    expect(station.now()?.chunkIndex).toBe(0);
    t.clock.advance(1);
    expect(station.now()?.chunkIndex).toBe(1);
    expect(station.now()?.offsetMs).toBe(0);
    t.clock.advance(1500 + 700);
    expect(log).toEqual([
      '0 start A',
      '0 chunk A#0',
      '1000 chunk A#1',
      '2500 chunk A#2',
      '3200 end A PLAYED played',
    ]);
    expect(r.status).toBe(RequestStatus.Played);
    await t.engine.repository.flush();
    const stored = await tdb.repository.getRequest(r.id);
    expect(stored?.request.status).toBe(RequestStatus.Played);
    expect(stored?.chunks.map((c) => c.status)).toEqual([
      ChunkStatus.Played,
      ChunkStatus.Played,
      ChunkStatus.Played,
    ]);
    expect(stored?.chunks[2]?.playedAt?.getTime()).toBe(stored?.request.finishedAt?.getTime());
  });

  it('waits the configured gap between requests and airs them in creation order', async () => {
    await say('A', [1000]);
    await say('B', [500]);
    t.clock.advance(1000);
    expect(station.state.status).toBe(StationStatus.Gap);
    t.clock.advance(399);
    expect(station.now()).toBeNull();
    t.clock.advance(1);
    expect(station.now()?.request.text).toBe('B');
    expect(log).toEqual([
      '0 start A',
      '0 chunk A#0',
      '1000 end A PLAYED played',
      '1400 start B',
      '1400 chunk B#0',
    ]);
  });

  it('does not move when the timer fires late: the next chunk starts at the exact boundary', async () => {
    await say('A', [1000, 1000]);
    t.clock.advance(1000 + 37);
    const now = station.now();
    expect(now?.chunkIndex).toBe(1);
    expect(now?.offsetMs).toBe(37);
    expect(now?.positionSec).toBeCloseTo(1.037, 6);
  });

  it('underruns (silence) when the next chunk is late, then airs it on arrival', async () => {
    const r = await say('A', [1000], false);
    t.clock.advance(1000);
    expect(station.state.status).toBe(StationStatus.Underrun);
    expect(station.now()).toMatchObject({ underrun: true, chunkIndex: 1, positionSec: 1 });
    t.clock.advance(250);
    await w().addChunk(r.id, 1, { text: 'A 1', audio: audioOf(500) });
    expect(station.now()).toMatchObject({ chunkIndex: 1, offsetMs: 0 });
    await w().complete(r.id, 2);
    t.clock.advance(500);
    expect(log.at(-1)).toBe('1750 end A PLAYED played');
    expect((await t.engine.metrics.stationUnderruns.get()).values[0]?.value).toBe(1);
  });

  it('ends a request whose generation completes while it waits at the boundary', async () => {
    const r = await say('A', [1000], false);
    t.clock.advance(1200);
    await w().complete(r.id, 1);
    expect(r.status).toBe(RequestStatus.Played);
    // Played at its last boundary, not when generation reported.
    expect(r.finishedAt?.getTime()).toBe(r.startedAt!.getTime() + 1200);
  });

  it('fails a waiting request at exactly the stall timeout and advances', async () => {
    const a = await say('A', [1000], false);
    await say('B', [300]);
    t.clock.advance(1000 + 179_999);
    expect(a.status).toBe(RequestStatus.Playing);
    t.clock.advance(1);
    expect(a.status).toBe(RequestStatus.Failed);
    expect(a.error).toMatch(/stalled/);
    t.clock.advance(400);
    expect(station.now()?.request.text).toBe('B');
  });

  it('a head request with no audio stalls too, at exactly the timeout from its creation', async () => {
    const a = await w().create('c1', 'A');
    t.clock.advance(179_999);
    // No chunk yet: nothing on air, still waiting.
    expect(station.state.status).toBe(StationStatus.Idle);
    expect(a.status).toBe(RequestStatus.Pending);
    t.clock.advance(1);
    expect(a.status).toBe(RequestStatus.Failed);
    expect(log.at(-1)).toMatch(/end A FAILED stalled/);
  });

  it('a chunk arriving during an underrun restarts the countdown', async () => {
    const a = await say('A', [1000], false);
    t.clock.advance(1000 + 100_000); // underrun since 1000: 100 s into the countdown
    expect(station.state.status).toBe(StationStatus.Underrun);
    await w().addChunk(a.id, 1, { text: 'A 1', audio: audioOf(500) });
    expect(station.now()?.chunkIndex).toBe(1);
    t.clock.advance(500); // chunk 1 aired; waiting again from here (101 500)
    expect(station.state.status).toBe(StationStatus.Underrun);
    // Without the restart it would have failed at 181 000; it fails 180 s after the last progress.
    t.clock.advance(179_999);
    expect(a.status).toBe(RequestStatus.Playing);
    t.clock.advance(1);
    expect(a.status).toBe(RequestStatus.Failed);
    expect(log.at(-1)).toMatch(/^281500 end A FAILED stalled/);
  });

  it('skip mid-chunk cancels the request, skips its unaired chunks and airs the next', async () => {
    const a = await say('A', [1000, 1000]);
    await say('B', [500]);
    t.clock.advance(300);
    expect(station.skip()).toMatchObject({ ok: true });
    expect(a.status).toBe(RequestStatus.Cancelled);
    t.clock.advance(400);
    expect(station.now()?.request.text).toBe('B');
    await t.engine.repository.flush();
    const stored = await tdb.repository.getRequest(a.id);
    expect(stored?.chunks.map((c) => c.status)).toEqual([ChunkStatus.Skipped, ChunkStatus.Skipped]);
    expect(stored?.request.status).toBe(RequestStatus.Cancelled);
  });

  it('stop clears the queue; later chunks of a cancelled request are refused', async () => {
    const a = await say('A', [1000], false);
    const b = await say('B', [500]);
    expect(station.stop()).toEqual({ ok: true, cancelled: 2 });
    expect([a.status, b.status]).toEqual([RequestStatus.Cancelled, RequestStatus.Cancelled]);
    await expect(w().addChunk(a.id, 1, { text: 'late', audio: audioOf(100) })).rejects.toThrow(/CANCELLED/);
    expect(station.now()).toBeNull();
    expect(station.skip()).toEqual({ ok: false, reason: 'nothing_on_air' });
  });

  it('a chunk whose request is skipped while its files are written leaves no files and no row', async () => {
    const { readdir } = await import('node:fs/promises');
    const a = await w().create('c1', 'A');
    const late = w().addChunk(a.id, 0, { text: 'a0', audio: audioOf(1000) });
    const waiting = w().addChunk(a.id, 2, { text: 'a2', audio: audioOf(1000) });
    expect(station.skip()).toMatchObject({ ok: true });
    await Promise.all([
      expect(late).rejects.toThrow(/CANCELLED/),
      expect(waiting).rejects.toThrow(/CANCELLED/),
    ]);
    await t.engine.repository.flush();
    const left = await readdir(t.audioDir, { recursive: true, withFileTypes: true });
    expect(left.filter((e) => e.isFile() && !e.name.startsWith('.'))).toEqual([]);
    expect((await tdb.repository.getRequest(a.id))?.chunks).toEqual([]);
  });

  it('pause mid-chunk holds the position; resume continues from the same millisecond', async () => {
    await say('A', [1000, 1000]);
    t.clock.advance(600);
    expect(station.pause()).toEqual({ ok: true });
    expect(station.pause()).toEqual({ ok: false, reason: 'already_paused' });
    t.clock.advance(60_000);
    expect(station.now()).toMatchObject({ paused: true, chunkIndex: 0, offsetMs: 600 });
    expect(station.schedule()).toEqual([]);
    station.resume();
    t.clock.advance(399);
    expect(station.now()).toMatchObject({ chunkIndex: 0, offsetMs: 999 });
    t.clock.advance(1);
    expect(station.now()).toMatchObject({ chunkIndex: 1, offsetMs: 0 });
  });

  it('refuses to pause with nothing on air or queued, so it never silently holds later narrations', async () => {
    expect(station.pause()).toEqual({ ok: false, reason: 'nothing_on_air' });
    expect(station.paused).toBe(false);
    await say('A', [1000]);
    expect(station.now()?.request.text).toBe('A');
  });

  it('a pause while a queued narration waits for its first chunk holds it until resume', async () => {
    const a = await t.engine.writer.create('c1', 'A');
    expect(station.pause()).toEqual({ ok: true });
    await t.engine.writer.addChunk(a.id, 0, { text: 'a0', audio: audioOf(1000) });
    expect(station.now()).toBeNull();
    station.resume();
    expect(station.now()?.request.text).toBe('A');
  });

  it('skip while paused cancels the paused request and stays paused', async () => {
    const a = await say('A', [1000]);
    await say('B', [1000]);
    t.clock.advance(100);
    station.pause();
    expect(station.skip()).toMatchObject({ ok: true });
    expect(a.status).toBe(RequestStatus.Cancelled);
    expect(station.now()).toBeNull();
    station.resume();
    expect(station.now()?.request.text).toBe('B');
  });

  it('commits out-of-order chunks in sequence order', async () => {
    const r = await w().create('c1', 'A');
    const order: number[] = [];
    station.on('chunkReady', (e) => order.push(e.chunk.sequenceNumber));
    const p2 = w().addChunk(r.id, 2, { text: 'two', audio: audioOf(100) });
    const p1 = w().addChunk(r.id, 1, { text: 'one', audio: audioOf(100) });
    await new Promise((res) => setTimeout(res, 20));
    expect(order).toEqual([]);
    expect(station.now()).toBeNull();
    await w().addChunk(r.id, 0, { text: 'zero', audio: audioOf(100) });
    await Promise.all([p1, p2]);
    expect(order).toEqual([0, 1, 2]);
    await w().complete(r.id, 3);
    t.clock.advance(300);
    expect(log).toEqual([
      '0 start A',
      '0 chunk A#0',
      '100 chunk A#1',
      '200 chunk A#2',
      '300 end A PLAYED played',
    ]);
  });

  it('a generation failure on air plays what it has, then ends FAILED with the reason', async () => {
    const a = await say('A', [1000, 1000], false);
    await say('B', [500]);
    t.clock.advance(500);
    await w().fail(a.id, 'TTS gave up after 3 tries: 500');
    expect(a.status).toBe(RequestStatus.Playing);
    t.clock.advance(1500);
    expect(a.status).toBe(RequestStatus.Failed);
    expect(a.error).toBe('TTS gave up after 3 tries: 500');
    t.clock.advance(400);
    expect(station.now()?.request.text).toBe('B');
  });

  it('a generation failure of a queued request fails it at once', async () => {
    await say('A', [1000]);
    const b = await w().create('c1', 'B');
    await w().fail(b.id, 'LLM unavailable');
    expect(b.status).toBe(RequestStatus.Failed);
    expect(b.generation).toBe(GenerationStatus.Failed);
    expect(station.queue().map((e) => e.request.text)).toEqual(['A']);
  });

  it('schedule() lists the on-air chunk and the generated ones after it with exact start times', async () => {
    const r = await say('A', [1000, 250], false);
    const t0 = t.clock.now();
    expect(station.schedule().map((e) => e.startsAt - t0)).toEqual([0, 1000]);
    await w().addChunk(r.id, 2, { text: 'x', audio: audioOf(100) });
    expect(station.schedule().map((e) => e.startsAt - t0)).toEqual([0, 1000, 1250]);
    t.clock.advance(1100);
    expect(station.schedule().map((e) => e.startsAt - t0)).toEqual([1000, 1250]);
  });

  it('late-join position counts the earlier chunks of the request', async () => {
    await say('A', [1000, 2000, 500]);
    t.clock.advance(2300);
    expect(station.now()).toMatchObject({ chunkIndex: 1, offsetMs: 1300, positionSec: 2.3 });
  });

  // "Client acknowledgements cannot move the station" is tested where acknowledgements enter:
  // test/web/ws.test.ts sends audio_played over a real WebSocket and watches the station's timeline.
});
