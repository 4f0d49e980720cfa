/**
 * Resumable generation (DESIGN.md rule 6): a process dies while a narration is
 * being generated (an in-process crash: its storage stops answering, as with
 * SIGKILL), a new engine starts on the same database, and the pipeline
 * continues the request at its first sentence without a stored chunk. Real
 * writer, station, recovery and database (PGlite, and PostgreSQL when
 * TEST_DATABASE_URL is set); fakes only at the TTS, encoder and LLM seams.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { fakeTokenize } from '../../src/narration/fake-openai-server';
import type { LlmClient, NarrationRequest } from '../../src/narration/llm';
import { NarrationPipeline } from '../../src/narration/pipeline';
import type { NarrationHandle } from '../../src/narration/service';
import { abortReason } from '../../src/narration/retry';
import { splitSentences } from '../../src/narration/splitter';
import {
  ChunkStatus,
  GenerationStatus,
  RequestStatus,
  type PlaybackEngine,
  type PlaybackRequest,
} from '../../src/playback';
import { CrashableRepository } from '../support/crash';
import { backends } from '../support/db';
import { startTestEngine, type TestEngine } from '../support/engine';
import { useTestDatabase } from '../support/hooks';
import { ManualClock } from '../support/manual-clock';
import { ControlledTts, FAKE_MS_PER_CHAR, FakeEncoder } from './support/fakes';

const STORY =
  'The gate creaks open. Mist pours across the courtyard! A raven watches from the well. ' +
  'Somewhere a bell tolls twice. "Who goes there?" calls a voice. You see no one. The bell falls silent.';
const SENTENCES = splitSentences(STORY);
const PROMPT = 'The party reaches the abandoned keep at dusk.';

/** An LLM that streams `deltas`, then keeps the stream open until aborted (the process dies mid-stream). */
class CutLlm implements LlmClient {
  constructor(readonly deltas: string[]) {}
  async *streamNarration(request: NarrationRequest): AsyncIterable<string> {
    for (const delta of this.deltas) {
      await Promise.resolve();
      yield delta;
    }
    await new Promise<never>((_, reject) =>
      request.signal?.addEventListener('abort', () => reject(abortReason(request.signal!)), { once: true }),
    );
  }
}

/** An LLM that finishes STORY from wherever it was cut, recording what it was asked. */
class FinishingLlm implements LlmClient {
  readonly requests: NarrationRequest[] = [];
  async *streamNarration(request: NarrationRequest): AsyncIterable<string> {
    this.requests.push(request);
    const from = request.continueFrom ?? '';
    for (const delta of fakeTokenize(STORY.slice(from.length))) {
      await Promise.resolve();
      yield delta;
    }
  }
}

/** Resolves when `check()` holds after one of the engine's station events (or at once). */
function until(engine: PlaybackEngine, check: () => boolean): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve) => {
    const onEvent = (): void => {
      if (!check()) return;
      engine.stations.off('queueChanged', onEvent);
      resolve();
    };
    engine.stations.on('queueChanged', onEvent);
  });
}

/** Resolves once `handle` reports `count` sentences done. */
function sentencesDone(handle: NarrationHandle, count: number): Promise<void> {
  return new Promise((resolve) => handle.onProgress((p) => p.sentencesDone === count && resolve()));
}

const durationOf = (text: string): number => Math.max(20, text.length * FAKE_MS_PER_CHAR);

describe.each(backends)('resumable generation on %s', (backend) => {
  const tdb = useTestDatabase(backend);
  let clock: ManualClock;
  let crashable: CrashableRepository;
  let before: TestEngine;

  beforeEach(async () => {
    await tdb.reset();
    clock = new ManualClock();
    crashable = new CrashableRepository(tdb.repository);
    before = await startTestEngine(crashable.repository, { clock });
  });

  /** The first process: a pipeline on the engine that is about to die. */
  function firstPipeline(tts: ControlledTts, llm: LlmClient | null = null): NarrationPipeline {
    return new NarrationPipeline({ engine: before.engine, tts, encoder: new FakeEncoder(), llm, clock });
  }

  /** The first process starts a narration: says STORY, or (given an LLM) narrates PROMPT. */
  async function startFirst(
    llm: LlmClient | null = null,
  ): Promise<{ tts1: ControlledTts; handle: NarrationHandle }> {
    const tts1 = new ControlledTts();
    tts1.auto = llm !== null;
    const handle = await firstPipeline(tts1, llm).start({
      campaignId: 'c1',
      text: llm ? PROMPT : STORY,
      mode: llm ? 'narrate' : 'say',
      requestedBy: 'dm',
    });
    return { tts1, handle };
  }

  /** SIGKILL, in process: storage stops answering and the old engine's timers stop. */
  async function crash(): Promise<void> {
    await before.engine.repository.flush();
    crashable.crash();
    before.engine.stations.destroy();
  }

  /** The restarted process: a new engine on the same database, and a pipeline that resumes. */
  async function restart(llm: LlmClient | null = null): Promise<{
    after: TestEngine;
    tts: ControlledTts;
    pipeline: NarrationPipeline;
    aired: number[];
  }> {
    const after = await startTestEngine(tdb.repository, { clock });
    const aired: number[] = [];
    after.engine.stations.on('chunkStarted', ({ chunk }) => aired.push(chunk.sequenceNumber));
    const tts = new ControlledTts();
    tts.auto = true;
    const pipeline = new NarrationPipeline({
      engine: after.engine,
      tts,
      encoder: new FakeEncoder(),
      llm,
      clock,
    });
    pipeline.resume(after.engine.takeInterrupted());
    return { after, tts, pipeline, aired };
  }

  /** Waits for GENERATED, airs everything, and returns the stored request. */
  async function playOut(after: TestEngine, request: PlaybackRequest) {
    const station = after.engine.stations.get('c1');
    await until(
      after.engine,
      () => station.findRequest(request.id)?.request.generation === GenerationStatus.Generated,
    );
    clock.advance(SENTENCES.reduce((ms, s) => ms + durationOf(s), 0) + 1000);
    await after.engine.repository.flush();
    return (await tdb.repository.getRequest(request.id))!;
  }

  it('say: a crash after two stored chunks, one of them on air, resumes at sentence 3: nothing twice, nothing skipped', async () => {
    const { tts1, handle } = await startFirst();
    while (tts1.calls.length < 2) await tts1.nextCall();
    tts1.calls[0]!.resolve();
    tts1.calls[1]!.resolve();
    await sentencesDone(handle, 2);
    clock.advance(durationOf(SENTENCES[0]!) + 100); // chunk 0 PLAYED, chunk 1 on air
    await crash();

    const { after, tts, aired } = await restart();
    expect(after.engine.recovery).toEqual({ resumed: 1, requeued: 0, interrupted: 1 });
    // Back on air at the chunk that was cut, from its start.
    expect(after.engine.stations.get('c1').now()).toMatchObject({ chunkIndex: 1, offsetMs: 0 });
    const stored = await playOut(after, handle.request);
    expect(tts.calls.map((c) => c.text)).toEqual(SENTENCES.slice(2));
    expect(aired).toEqual(SENTENCES.map((_, i) => i).slice(2));
    expect(stored.chunks.map((c) => [c.sequenceNumber, c.text])).toEqual(SENTENCES.map((s, i) => [i, s]));
    expect(stored.chunks.every((c) => c.status === ChunkStatus.Played)).toBe(true);
    expect(stored.request).toMatchObject({
      status: RequestStatus.Played,
      generation: GenerationStatus.Generated,
      totalChunks: SENTENCES.length,
      error: null,
    });
    await after.dispose();
  });

  it('say: a crash before any chunk was stored speaks the whole text after the restart', async () => {
    const { tts1, handle } = await startFirst();
    await tts1.nextCall(1);
    await crash();

    const { after, tts } = await restart();
    const stored = await playOut(after, handle.request);
    expect(tts.calls.map((c) => c.text)).toEqual(SENTENCES);
    expect(stored.chunks.map((c) => c.text)).toEqual(SENTENCES);
    expect(stored.request.status).toBe(RequestStatus.Played);
    await after.dispose();
  });

  it('narrate: a crash mid-stream asks the LLM to continue the stored text; the split goes on where it stopped', async () => {
    const cut = STORY.indexOf('Somewhere') + 'Somewhere a be'.length;
    const { handle } = await startFirst(new CutLlm(fakeTokenize(STORY.slice(0, cut))));
    // Three sentences are certain in the text so far; all three are stored.
    await sentencesDone(handle, 3);
    await crash();
    const script = (await tdb.repository.getRequest(handle.request.id))!.request;
    expect(script.scriptComplete).toBe(false);
    expect(STORY.startsWith(script.script!)).toBe(true);
    expect(script.script!.length).toBeGreaterThan(STORY.indexOf('Somewhere'));

    const llm = new FinishingLlm();
    const { after, tts } = await restart(llm);
    const stored = await playOut(after, handle.request);
    expect(llm.requests).toHaveLength(1);
    expect(llm.requests[0]).toMatchObject({ prompt: PROMPT, continueFrom: script.script });
    expect(tts.calls.map((c) => c.text)).toEqual(SENTENCES.slice(3));
    expect(stored.chunks.map((c) => c.text)).toEqual(SENTENCES);
    expect(stored.request).toMatchObject({
      status: RequestStatus.Played,
      generation: GenerationStatus.Generated,
      script: STORY,
      scriptComplete: true,
    });
    await after.dispose();
  });

  it('narrate: a stream cut right at a sentence end ends there, without asking the LLM again', async () => {
    const text = 'The gate creaks open. Mist pours across the courtyard!';
    const { handle } = await startFirst(
      new CutLlm(['The gate creaks open. ', 'Mist pours across the courtyard!']),
    );
    await sentencesDone(handle, 1);
    await crash();
    expect((await tdb.repository.getRequest(handle.request.id))!.request.script).toBe(text);

    const llm = new FinishingLlm();
    const { after, tts } = await restart(llm);
    const stored = await playOut(after, handle.request);
    expect(llm.requests).toHaveLength(0);
    expect(tts.calls.map((c) => c.text)).toEqual(['Mist pours across the courtyard!']);
    expect(stored.chunks.map((c) => c.text)).toEqual(splitSentences(text));
    expect(stored.request).toMatchObject({
      status: RequestStatus.Played,
      totalChunks: 2,
      script: text,
      scriptComplete: true,
    });
    await after.dispose();
  });

  it('a resumed sentence that fails TTS for good fails the request with its reason; the next request airs', async () => {
    const { tts1, handle } = await startFirst();
    await tts1.nextCall(1);
    tts1.calls[0]!.resolve();
    await sentencesDone(handle, 1);
    const next = await before.engine.writer.create('c1', 'next');
    await crash();

    const after = await startTestEngine(tdb.repository, { clock });
    const tts = new ControlledTts();
    const pipeline = new NarrationPipeline({
      engine: after.engine,
      tts,
      encoder: new FakeEncoder(),
      clock,
    });
    pipeline.resume(after.engine.takeInterrupted());
    await tts.nextCall(1);
    const permanent = Object.assign(new Error('voice model removed'), { status: 400 });
    tts.calls[0]!.reject(permanent);
    const station = after.engine.stations.get('c1');
    clock.advance(durationOf(SENTENCES[0]!) + 100);
    await until(after.engine, () => station.findRequest(handle.request.id) === undefined);
    await after.engine.repository.flush();
    const stored = (await tdb.repository.getRequest(handle.request.id))!;
    expect(stored.request.status).toBe(RequestStatus.Failed);
    expect(stored.request.error).toMatch(/TTS failed/);
    expect(stored.chunks.map((c) => c.status)).toEqual([ChunkStatus.Played]);
    expect(station.queue().map((e) => e.request.id)).toEqual([next.id]);
    await pipeline.close();
    await after.dispose();
  });
});
