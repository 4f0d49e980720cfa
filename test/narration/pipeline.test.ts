import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeOpenAiServer } from '../../src/narration/fake-openai-server';
import { OpenAiLlmClient } from '../../src/narration/llm';
import {
  EmptyNarrationError,
  NarrationPipeline,
  SHUTDOWN_REASON,
  type NarrationPipelineOptions,
  type PipelineTraceEvent,
} from '../../src/narration/pipeline';
import { RateLimiter } from '../../src/narration/rate-limit';
import {
  RateLimitedError,
  UnknownVoiceError,
  type NarrationHandle,
  type NarrationProgress,
} from '../../src/narration/service';
import { splitSentences } from '../../src/narration/splitter';
import { OpenAiTtsProvider } from '../../src/narration/tts/openai';
import {
  ChunkStatus,
  GenerationStatus,
  RequestStatus,
  StationStatus,
  type Station,
} from '../../src/playback';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { ManualClock } from '../support/manual-clock';
import { startTestEngine, type TestEngine } from '../support/engine';
import { ControlledTts, FAKE_MS_PER_CHAR, FakeEncoder, ScriptedLlm } from './support/fakes';

const STORY =
  'The gate creaks open. Mist pours across the courtyard! A raven watches from the well. ' +
  'Somewhere a bell tolls twice. "Who goes there?" calls a voice. You see no one. The bell falls silent.';
const SENTENCES = splitSentences(STORY);

let tdb: TestDatabase;
let t: TestEngine;
let station: Station;
let tts: ControlledTts;
let encoder: FakeEncoder;
let trace: PipelineTraceEvent[];
let services: NarrationPipeline[];

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
  tts = new ControlledTts();
  encoder = new FakeEncoder();
  trace = [];
  services = [];
});
afterEach(async () => {
  for (const s of services) await s.close();
  await t.dispose();
});

function service(options: Partial<NarrationPipelineOptions> = {}): NarrationPipeline {
  const s = new NarrationPipeline({
    engine: t.engine,
    tts,
    encoder,
    clock: t.clock,
    onTrace: (e) => trace.push(e),
    ...options,
  });
  services.push(s);
  return s;
}

/** Settles pending TTS calls in the order `pick` chooses until the narration is done. */
async function settleTtsInRandomOrder(
  handle: NarrationHandle,
  pick: (n: number) => number,
): Promise<NarrationProgress> {
  let finished: NarrationProgress | undefined;
  void handle.done.then((p) => (finished = p));
  while (!finished) {
    const pending = tts.pending;
    if (pending.length > 0) {
      (pending[pick(pending.length) % pending.length] as (typeof pending)[number]).resolve();
      await new Promise((r) => setImmediate(r));
      continue;
    }
    await Promise.race([tts.nextCall(), handle.done]);
  }
  return finished;
}

/** Chunks of a request as stored in the database. */
async function stored(requestId: string) {
  await t.engine.repository.flush();
  return tdb.repository.getRequest(requestId);
}

describe('ordering and concurrency', () => {
  it('airs chunks in sequence order whatever order TTS finishes in, with at most N sentences in flight', async () => {
    const s = service({ concurrency: 3 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { minLength: 1, maxLength: 30 }), async (choices) => {
        trace.length = 0;
        const aired: number[] = [];
        const onChunk = (e: { request: { id: string }; chunk: { sequenceNumber: number } }) => {
          if (e.request.id === handle.request.id) aired.push(e.chunk.sequenceNumber);
        };
        station.on('chunkStarted', onChunk);
        const handle = await s.start({ campaignId: 'c1', text: STORY, mode: 'say', requestedBy: 'dm' });
        let k = 0;
        const result = await settleTtsInRandomOrder(handle, () => choices[k++ % choices.length] as number);
        expect(result).toMatchObject({ phase: 'done', sentencesDone: SENTENCES.length });

        // In flight = TTS started, not yet committed; never more than the pool size.
        let inFlight = 0;
        let max = 0;
        for (const e of trace) {
          if (e.type === 'tts-start') max = Math.max(max, ++inFlight);
          if (e.type === 'committed') inFlight--;
        }
        expect(max).toBe(3);
        const commits = trace.filter((e) => e.type === 'committed').map((e) => (e as { seq: number }).seq);
        expect(commits).toEqual(SENTENCES.map((_, i) => i));

        t.clock.advance(60_000); // play it through
        station.off('chunkStarted', onChunk);
        expect(aired).toEqual(SENTENCES.map((_, i) => i));
        const row = await stored(handle.request.id);
        expect(row?.request).toMatchObject({
          status: RequestStatus.Played,
          generation: GenerationStatus.Generated,
          totalChunks: SENTENCES.length,
        });
        expect(row?.chunks.map((c) => c.text)).toEqual(SENTENCES);
        expect(row?.chunks.map((c) => c.durationMs)).toEqual(
          SENTENCES.map((x) => x.length * FAKE_MS_PER_CHAR),
        );
      }),
      { numRuns: 6 },
    );
  });

  it('sends the first sentence to TTS before the LLM has finished, and goes on air with it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const llm = {
      async *streamNarration() {
        yield 'The gate creaks open. Mist ';
        await gate; // the model is still "writing"
        yield 'pours across the courtyard.';
      },
    };
    const handle = await service({ llm }).start({
      campaignId: 'c1',
      text: 'open the gate',
      mode: 'narrate',
      requestedBy: 'dm',
    });
    await tts.nextCall(1);
    expect(tts.calls.map((c) => c.text)).toEqual(['The gate creaks open.']);
    tts.calls[0]?.resolve();
    await vi.waitFor(() => expect(station.state.status).toBe(StationStatus.OnAir), { timeout: 20_000 });
    expect(handle.request.status).toBe(RequestStatus.Playing);
    release();
    await tts.nextCall(2);
    tts.calls[1]?.resolve();
    expect(await handle.done).toMatchObject({ phase: 'done', sentencesDone: 2, sentencesTotal: 2 });
  });

  it('serves the narration that airs first before a later one when the pool is full', async () => {
    const s = service({ concurrency: 1 });
    const a = await s.start({ campaignId: 'c1', text: 'One. Two. Three.', mode: 'say', requestedBy: 'dm' });
    const b = await s.start({ campaignId: 'c1', text: 'Later.', mode: 'say', requestedBy: 'dm' });
    tts.auto = true;
    tts.pending.forEach((c) => c.resolve());
    await Promise.all([a.done, b.done]);
    expect(tts.calls.map((c) => c.text)).toEqual(['One.', 'Two.', 'Three.', 'Later.']);
  });
});

describe('modes and progress', () => {
  it('say: speaks the text without the LLM; progress goes speaking → done', async () => {
    const llm = new ScriptedLlm(['Never used.']);
    tts.auto = true;
    const handle = await service({ llm }).start({
      campaignId: 'c1',
      text: STORY,
      mode: 'say',
      requestedBy: 'dm',
    });
    const phases: string[] = [];
    handle.onProgress((p) => phases.push(`${p.phase} ${p.sentencesDone}/${p.sentencesTotal ?? '?'}`));
    expect(await handle.done).toMatchObject({ phase: 'done', requestId: handle.request.id });
    expect(llm.requests).toHaveLength(0);
    expect(handle.spokenVerbatim).toBe(false);
    expect(handle.request.mode).toBe('say');
    expect(tts.calls.map((c) => c.text)).toEqual(SENTENCES);
    const n = SENTENCES.length;
    expect(phases[0]).toMatch(/^speaking/);
    expect(phases.at(-1)).toBe(`done ${n}/${n}`);
  });

  it('narrate: the LLM writes from the prompt and the story so far; progress goes writing → speaking → done', async () => {
    const llm = new ScriptedLlm((prompt) =>
      prompt === 'first' ? ['The gate ', 'creaks open. ', 'Mist pours in.'] : ['A raven ', 'watches.'],
    );
    tts.auto = true;
    const s = service({ llm });
    const first = await s.start({ campaignId: 'c1', text: 'first', mode: 'narrate', requestedBy: 'dm' });
    const phases: string[] = [];
    first.onProgress((p) => phases.push(`${p.phase} ${p.sentencesDone}/${p.sentencesTotal ?? '?'}`));
    await first.done;
    expect(phases[0]).toBe('writing 0/?');
    expect(phases).toContain('speaking 2/2');
    expect(phases.at(-1)).toBe('done 2/2');
    expect(first.request.mode).toBe('narrate');
    t.clock.advance(60_000);
    await t.engine.repository.flush();

    const second = await s.start({ campaignId: 'c1', text: 'second', mode: 'narrate', requestedBy: 'dm' });
    await second.done;
    expect(llm.requests.map((r) => r.prompt)).toEqual(['first', 'second']);
    expect(llm.requests[1]?.history).toEqual(['The gate creaks open. Mist pours in.']);
    expect(tts.calls.map((c) => c.text)).toEqual([
      'The gate creaks open.',
      'Mist pours in.',
      'A raven watches.',
    ]);
  });

  it('narrate without an LLM speaks the prompt verbatim and says so', async () => {
    tts.auto = true;
    const s = service({ llm: null });
    expect(s.llmAvailable).toBe(false);
    const handle = await s.start({
      campaignId: 'c1',
      text: 'The bridge holds. For now.',
      mode: 'narrate',
      requestedBy: 'dm',
    });
    expect(handle.spokenVerbatim).toBe(true);
    expect(handle.request.mode).toBe('say');
    expect(await handle.done).toMatchObject({ phase: 'done', sentencesTotal: 2 });
    expect(tts.calls.map((c) => c.text)).toEqual(['The bridge holds.', 'For now.']);
  });

  it('refuses empty text before anything is created', async () => {
    await expect(
      service().start({ campaignId: 'c1', text: '  ', mode: 'say', requestedBy: 'dm' }),
    ).rejects.toThrow(EmptyNarrationError);
    expect(station.queue()).toHaveLength(0);
  });

  it('fails the request when the model writes nothing speakable', async () => {
    const handle = await service({ llm: new ScriptedLlm(['**', '  ']) }).start({
      campaignId: 'c1',
      text: 'go',
      mode: 'narrate',
      requestedBy: 'dm',
    });
    expect(await handle.done).toMatchObject({
      phase: 'failed',
      error: expect.stringMatching(/no speakable text/),
    });
    expect(handle.request.status).toBe(RequestStatus.Failed);
  });
});

describe('voices and rate limit', () => {
  it('uses the explicit voice, else the campaign voice, else the provider default; unknown → UnknownVoiceError', async () => {
    tts.auto = true;
    const s = service();
    const say = async (voice?: string) => {
      const h = await s.start({
        campaignId: 'c1',
        text: 'Hello.',
        mode: 'say',
        requestedBy: 'dm',
        ...(voice ? { voice } : {}),
      });
      await h.done;
      return h;
    };
    await say();
    await t.engine.campaigns.update('c1', { ttsVoice: 'onyx' });
    const h = await say();
    await say('sage');
    await t.engine.campaigns.update('c1', { ttsVoice: 'alloy' }); // not offered by this engine
    await say();
    expect(tts.calls.map((c) => c.voice)).toEqual(['narrator', 'onyx', 'sage', 'narrator']);
    expect(h.request.voice).toBe('onyx');

    const before = station.queue().length;
    await expect(say('nope')).rejects.toThrow(UnknownVoiceError);
    expect(station.queue()).toHaveLength(before);
    expect(tts.calls).toHaveLength(4);
    expect(await s.voices()).toEqual(tts.voiceList);
  });

  it('limits each DM separately and tells when to retry; a refused voice costs nothing', async () => {
    tts.auto = true;
    const s = service({ rateLimiter: new RateLimiter({ capacity: 1, refillPerMinute: 1, clock: t.clock }) });
    const start = (requestedBy: string, voice?: string) =>
      s.start({ campaignId: 'c1', text: 'Hi.', mode: 'say', requestedBy, ...(voice ? { voice } : {}) });
    await expect(start('dm1', 'nope')).rejects.toThrow(UnknownVoiceError);
    await start('dm1');
    const refused = await start('dm1').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).retryAfterMs).toBe(60_000);
    expect(trace.filter((e) => e.type === 'accepted')).toHaveLength(1); // the refused one created nothing
    await start('dm2');
    t.clock.advance(60_000);
    await start('dm1');
    expect(tts.calls).toHaveLength(3);
  });
});

describe('failures', () => {
  let server: FakeOpenAiServer;
  let baseURL: string;
  beforeAll(async () => {
    server = new FakeOpenAiServer();
    baseURL = (await server.start()).url;
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(() => {
    server.setOptions({ firstTokenLatencyMs: 0, tokensPerSec: 0, ttsBaseLatencyMs: 0 });
    server.clearFailures();
    server.resetStats();
  });
  const openAiTts = () =>
    new OpenAiTtsProvider({ apiKey: 'sk-test', baseURL, retry: { baseDelayMs: 2, maxDelayMs: 5 } });
  const openAiLlm = () =>
    new OpenAiLlmClient({ apiKey: 'sk-test', baseURL, retry: { baseDelayMs: 2, maxDelayMs: 5 } });

  it('retries TTS with backoff, then fails the request with the reason; the station moves on', async () => {
    const s = service({ tts: openAiTts(), concurrency: 1 });
    server.failNext({ endpoint: 'speech', status: 500, count: 4 });
    const ended: string[] = [];
    station.on('requestEnded', (e) => ended.push(`${e.request.text} ${e.status}`));
    const a = await s.start({
      campaignId: 'c1',
      text: 'First words. Second words.',
      mode: 'say',
      requestedBy: 'dm',
    });
    const b = await s.start({ campaignId: 'c1', text: 'Next in line.', mode: 'say', requestedBy: 'dm' });
    const result = await a.done;
    expect(result.phase).toBe('failed');
    expect(result.error).toMatch(/^TTS failed after 4 attempts on sentence 1: 500 /);
    expect(await b.done).toMatchObject({ phase: 'done' });
    expect(server.stats.failed.speech).toBe(4);
    expect(server.stats.calls.speech).toBe(5); // 4 attempts for A's first sentence, 1 for B; A's second never spoken
    expect(ended).toEqual([`First words. Second words. ${RequestStatus.Failed}`]);
    expect(a.request.error).toBe(result.error);
    expect(station.now()?.request.id).toBe(b.request.id);
    expect((await stored(a.request.id))?.request).toMatchObject({
      status: RequestStatus.Failed,
      generation: GenerationStatus.Failed,
      error: result.error,
    });
  });

  it('retries a transient LLM error before the first token, and fails after the last retry', async () => {
    tts.auto = true;
    const s = service({ llm: openAiLlm() });
    server.setOptions({ reply: 'The door opens. Cold air rushes in.' });
    server.failNext({ endpoint: 'chat', status: 503 });
    const ok = await s.start({ campaignId: 'c1', text: 'open it', mode: 'narrate', requestedBy: 'dm' });
    expect(await ok.done).toMatchObject({ phase: 'done', sentencesTotal: 2 });
    expect(server.stats.calls.chat).toBe(2);

    server.failNext({ endpoint: 'chat', status: 429, count: 4 });
    const bad = await s.start({ campaignId: 'c1', text: 'again', mode: 'narrate', requestedBy: 'dm' });
    expect(await bad.done).toMatchObject({
      phase: 'failed',
      error: expect.stringMatching(/^LLM call failed: gave up after 4 attempts: 429 /),
    });
    expect(bad.request.status).toBe(RequestStatus.Failed);
  });

  it('fails on an encoder error and keeps the chunks already stored', async () => {
    tts.auto = true;
    encoder.failOn = (text) => (text.startsWith('Mist') ? new Error('ffmpeg exited 1') : undefined);
    const handle = await service({ concurrency: 1 }).start({
      campaignId: 'c1',
      text: STORY,
      mode: 'say',
      requestedBy: 'dm',
    });
    expect(await handle.done).toMatchObject({
      phase: 'failed',
      error: 'encoding failed on sentence 2: ffmpeg exited 1',
      sentencesDone: 1,
    });
    const row = await stored(handle.request.id);
    expect(row?.chunks.map((c) => c.text)).toEqual([SENTENCES[0]]);
    // On air already: it plays what it has, then ends FAILED.
    t.clock.advance(60_000);
    expect(handle.request.status).toBe(RequestStatus.Failed);
  });
});

describe('cancellation', () => {
  let server: FakeOpenAiServer;
  let baseURL: string;
  // The fake API's own clock: the LLM writes and TTS answers only as far as the test moves it.
  const apiClock = new ManualClock();
  beforeAll(async () => {
    server = new FakeOpenAiServer({ clock: apiClock });
    baseURL = (await server.start()).url;
  });
  afterAll(async () => {
    await server.stop();
  });

  it('a skip mid-generation aborts the LLM stream and the TTS calls in flight; no new calls start', async () => {
    server.setOptions({ firstTokenLatencyMs: 0, tokensPerSec: 100, ttsBaseLatencyMs: 10_000 });
    server.resetStats();
    const s = service({
      llm: new OpenAiLlmClient({ apiKey: 'sk-test', baseURL }),
      tts: new OpenAiTtsProvider({ apiKey: 'sk-test', baseURL }),
      concurrency: 2,
    });
    const handle = await s.start({ campaignId: 'c1', text: 'descend', mode: 'narrate', requestedBy: 'dm' });
    // 80 of the reply's tokens (two sentences are 45), TTS answers due only after 10 s: the LLM is
    // mid-reply and two sentences are being spoken, however slow the machine is.
    await vi.waitFor(() => expect(server.stats.calls.chat).toBe(1), { interval: 5, timeout: 20_000 });
    for (let i = 0; i < 80; i++) apiClock.advance(10);
    await vi.waitFor(() => expect(server.stats.calls.speech).toBe(2), { interval: 5, timeout: 20_000 });
    expect(server.stats.completed.chat).toBe(0); // still writing

    expect(station.skip()).toMatchObject({ ok: true, request: { id: handle.request.id } });
    expect(await handle.done).toMatchObject({ phase: 'cancelled' });
    await vi.waitFor(() => expect(server.inFlight).toBe(0), { interval: 5, timeout: 20_000 });
    const stats = server.stats;
    expect(stats.aborted.speech).toBe(2);
    expect(stats.aborted.chat).toBe(1);
    await new Promise((r) => setTimeout(r, 150)); // would be long enough for more sentences to be sent
    expect(server.stats.calls).toEqual(stats.calls);
    expect(handle.request.status).toBe(RequestStatus.Cancelled);
    expect((await stored(handle.request.id))?.chunks).toEqual([]);
  });

  it('a stop while some chunks aired aborts the rest and stores nothing more', async () => {
    const handle = await service().start({ campaignId: 'c1', text: STORY, mode: 'say', requestedBy: 'dm' });
    await tts.nextCall(3);
    tts.calls[0]?.resolve();
    await vi.waitFor(() => expect(station.state.status).toBe(StationStatus.OnAir), { timeout: 20_000 });
    station.stop();
    expect(await handle.done).toMatchObject({ phase: 'cancelled', sentencesDone: 1 });
    // The first commit freed a slot for sentence 4: three calls were in flight, all aborted.
    expect(tts.calls.map((c) => c.aborted)).toEqual([false, true, true, true]);
    const row = await stored(handle.request.id);
    expect(row?.chunks.map((c) => c.status)).toEqual([ChunkStatus.Skipped]);
  });

  it('a stall on the station aborts generation; the request fails with the stall reason', async () => {
    const handle = await service().start({ campaignId: 'c1', text: STORY, mode: 'say', requestedBy: 'dm' });
    await tts.nextCall(3);
    t.clock.advance(180_000);
    expect(await handle.done).toMatchObject({ phase: 'failed', error: 'stalled: no audio for 180 s' });
    expect(tts.calls.every((c) => c.aborted)).toBe(true);
  });

  it('close({ drainMs }) lets a running narration finish storing its audio, and refuses new ones', async () => {
    const s = service();
    const handle = await s.start({ campaignId: 'c1', text: STORY, mode: 'say', requestedBy: 'dm' });
    await tts.nextCall(3);
    const closing = s.close({ drainMs: 30_000 });
    await expect(s.start({ campaignId: 'c1', text: 'late', mode: 'say', requestedBy: 'dm' })).rejects.toThrow(
      /closed/,
    );
    const done = await settleTtsInRandomOrder(handle, () => 0);
    await closing;
    expect(done).toMatchObject({ phase: 'done', sentencesDone: SENTENCES.length });
    expect(tts.calls.some((c) => c.aborted)).toBe(false);
    expect(handle.request.generation).toBe(GenerationStatus.Generated);
  });

  it('close() aborts running narrations and leaves their requests queued for the next start', async () => {
    const s = service();
    const handle = await s.start({ campaignId: 'c1', text: STORY, mode: 'say', requestedBy: 'dm' });
    await tts.nextCall(3);
    await s.close();
    expect(await handle.done).toMatchObject({ phase: 'failed', error: SHUTDOWN_REASON });
    expect(tts.calls.every((c) => c.aborted)).toBe(true);
    await t.engine.repository.flush();
    const stored = await tdb.repository.getRequest(handle.request.id);
    expect(stored?.request.status).toBe(RequestStatus.Pending);
    expect(stored?.request.generation).toBe(GenerationStatus.Pending);
  });
});
