/**
 * TTS faults through the real OpenAI SDK against the fake API: 20 % of
 * speech calls fail (500) and 5 % never answer (the client times out), at
 * seeded random; one sentence fails for good (400). Transient failures are
 * retried until they succeed; the request with the bad sentence ends FAILED
 * with its reason and the next request goes on air right after it, checked
 * on the station clock. Then the station waiting exactly the stall timeout.
 */
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import type { EncodeInput } from '../../src/narration/encoder';
import { FakeOpenAiServer, seededRandom } from '../../src/narration/fake-openai-server';
import { NarrationPipeline } from '../../src/narration/pipeline';
import type { NarrationHandle } from '../../src/narration/service';
import { OpenAiTtsProvider } from '../../src/narration/tts/openai';
import { RequestStatus, StationStatus } from '../../src/playback';
import { audioOf } from '../support/audio';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { startTestEngine, type TestEngine } from '../support/engine';

const SEED = Number(process.env['FAULT_SEED'] ?? 20261130);
const GAP_MS = 400;

let tdb: TestDatabase;
let t: TestEngine;
let fake: FakeOpenAiServer;
let baseURL: string;
beforeAll(async () => {
  tdb = await openTestDatabase('pglite');
  fake = new FakeOpenAiServer({ msPerChar: 10 });
  baseURL = (await fake.start()).url;
});
afterAll(async () => {
  await fake?.stop();
  await tdb?.close();
});
beforeEach(async () => {
  await tdb.reset();
  t = await startTestEngine(tdb.repository, { gapMs: GAP_MS });
});
afterEach(async () => {
  await t.dispose();
});

/** Encodes by length only (the encoder is not under test here): 24 kHz PCM → that many ms. */
const encoder = {
  encode: async (input: EncodeInput) =>
    audioOf(Math.max(20, (input.data.length / 2 / (input.sampleRate ?? 24_000)) * 1000)),
};

describe('TTS faults', () => {
  it('retries transient failures and timeouts until they succeed; a sentence that fails for good fails only its request, and the next goes on air at once', async () => {
    const wallStart = Date.now();
    fake.setOptions({
      speechErrorRate: 0.2,
      speechHangRate: 0.05,
      random: seededRandom(SEED),
      speechFailureFor: (input) => (input.includes('cursed') ? 400 : undefined),
    });
    fake.resetStats();
    const tts = new OpenAiTtsProvider({
      apiKey: 'sk-fault-suite',
      baseURL,
      // A hung call is given up after 1.5 s and retried; enough retries that 20 % + 5 % faults
      // can't exhaust them by chance (0.25^7 per sentence).
      timeout: 1_500,
      retry: { retries: 6, baseDelayMs: 20, maxDelayMs: 200 },
    });
    const pipeline = new NarrationPipeline({
      engine: t.engine,
      tts,
      encoder,
      clock: t.clock,
      concurrency: 3,
    });
    const station = t.engine.stations.get('c1');
    const events: string[] = [];
    const at = () => t.clock.now();
    station.on('requestStarted', (e) => events.push(`${at()} start ${e.request.id}`));
    station.on('requestEnded', (e) => events.push(`${at()} end ${e.request.id} ${e.status}`));
    try {
      const handles: NarrationHandle[] = [];
      for (let i = 0; i < 10; i++) {
        const text =
          i === 4
            ? `Request ${i} starts well. Then a cursed word is spoken. It never ends.`
            : `Request ${i} opens the scene. Request ${i} goes on. Request ${i} closes it.`;
        handles.push(await pipeline.start({ campaignId: 'c1', text, mode: 'say', requestedBy: 'dm' }));
      }
      // Generation runs on real time (real HTTP, real timeouts); the station clock stands still meanwhile.
      const results = await Promise.all(handles.map((h) => h.done));
      const generationWallMs = Date.now() - wallStart;
      expect(results.map((r) => r.phase)).toEqual(
        Array.from({ length: 10 }, (_, i) => (i === 4 ? 'failed' : 'done')),
      );
      expect(results[4]?.error).toMatch(/400/);
      const stats = fake.stats;
      // Transient failures did happen, and every one was recovered from.
      expect(stats.failed.speech).toBeGreaterThan(3);
      expect(stats.aborted.speech).toBeGreaterThan(0); // hung calls the client timed out

      // Now play it all on the station clock.
      const failed = handles[4]!.request;
      const next = handles[5]!.request;
      for (let i = 0; i < 2_000 && !handles.every((h) => FINAL.has(h.request.status)); i++)
        t.clock.advance(50);
      expect(handles.map((h) => h.request.status)).toEqual(
        Array.from({ length: 10 }, (_, i) => (i === 4 ? RequestStatus.Failed : RequestStatus.Played)),
      );
      expect(failed.error).toMatch(/400/);
      // The failure costs the station no time: the next request airs one gap after whatever ended last
      // (the failed request itself if it was on air, else the one before it).
      expect(events.some((e) => e.endsWith(`end ${failed.id} FAILED`))).toBe(true);
      const startIndex = events.findIndex((e) => e.endsWith(`start ${next.id}`));
      const nextAt = Number(events[startIndex]?.split(' ')[0]);
      const endedAt = Math.max(
        ...events
          .slice(0, startIndex)
          .filter((e) => e.includes(' end '))
          .map((e) => Number(e.split(' ')[0])),
      );
      expect(nextAt - endedAt).toBe(GAP_MS);
      await t.engine.repository.flush();
      const storedFailed = await tdb.repository.getRequest(failed.id);
      expect(storedFailed?.request).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/400/) });
      const played = await Promise.all(
        handles.filter((_, i) => i !== 4).map((h) => tdb.repository.getRequest(h.request.id)),
      );
      for (const r of played) expect(r?.chunks.map((c) => c.status)).toEqual(['PLAYED', 'PLAYED', 'PLAYED']);
      console.info(
        `[measure] TTS faults (seed ${SEED}): ${stats.calls.speech} speech calls for 29 sentences, ${stats.failed.speech} failed or hung ` +
          `(${stats.aborted.speech} timed out by the client), all transient ones recovered; permanent failure → FAILED "${failed.error}"; ` +
          `next request on air ${nextAt - endedAt} ms of station clock after it ended; generation took ${generationWallMs} ms of wall time`,
      );
    } finally {
      await pipeline.close();
      fake.setOptions({ speechErrorRate: 0, speechHangRate: 0, speechFailureFor: undefined });
    }
  }, 180_000);

  it('a request waiting for audio fails at exactly the stall timeout on the fake clock, and the next airs after the gap', async () => {
    const station = t.engine.stations.get('c1');
    const w = t.engine.writer;
    const stuck = await w.create('c1', 'stuck', { mode: 'say' });
    await w.addChunk(stuck.id, 0, { text: 'only', audio: audioOf(1000) });
    const next = await w.create('c1', 'next', { mode: 'say' });
    await w.addChunk(next.id, 0, { text: 'n', audio: audioOf(500) });
    await w.complete(next.id, 1);
    const stallMs = 180_000;
    t.clock.advance(1000); // chunk 0 aired; waiting for chunk 1 from here
    expect(station.state.status).toBe(StationStatus.Underrun);
    t.clock.advance(stallMs - 1);
    expect(stuck.status).toBe(RequestStatus.Playing);
    t.clock.advance(1);
    expect(stuck.status).toBe(RequestStatus.Failed);
    expect(stuck.error).toMatch(/stalled/);
    t.clock.advance(GAP_MS - 1);
    expect(next.status).toBe(RequestStatus.Pending);
    t.clock.advance(1);
    expect(next.status).toBe(RequestStatus.Playing);
    await t.engine.repository.flush();
    expect((await tdb.repository.getRequest(stuck.id))?.request).toMatchObject({ status: 'FAILED' });
  });
});

const FINAL = new Set<string>([RequestStatus.Played, RequestStatus.Failed, RequestStatus.Cancelled]);
