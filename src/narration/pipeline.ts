/**
 * The narration pipeline (DESIGN.md "Data flow"): LLM text stream → sentence
 * splitter → TTS in a bounded pool → encode once → `addChunk` in sequence
 * order. The first sentence goes to TTS the moment the splitter emits it, so
 * it is on air while the rest is still being written and spoken.
 *
 * Each narration owns an AbortController: a skip/stop/stall on the station,
 * a final failure, or shutdown aborts the LLM stream and every TTS and encode
 * call in flight, and nothing new starts, so no money is spent on audio nobody
 * will hear.
 */
import { createAttributedSplitter, type AttributedSentence } from '../cast/attributed-splitter';
import type { SpeakerVoiceResolver } from '../cast/voices';
import { systemClock, type Clock } from '../clock';
import { silentLogger, type Logger } from '../log';
import {
  isFinalRequestStatus,
  RequestClosedError,
  RequestStatus,
  type EndReason,
  type PlaybackEngine,
  type PlaybackRequest,
  type RequestWithChunks,
} from '../playback';
import type { AudioEncoder } from './encoder';
import { FirstChunkGuess } from './first-guess';
import type { LlmClient } from './llm';
import { NarrationProgressTracker } from './progress';
import type { RateLimiter } from './rate-limit';
import { abortReason, describeError, isAbortError, RetryExhaustedError } from './retry';
import {
  RateLimitedError,
  UnknownVoiceError,
  type NarrationHandle,
  type NarrationInput,
  type NarrationService,
} from './service';
import { endsAtSentenceEnd } from './script';
import type { SentenceSplitterOptions } from './splitter';
import { TaskPool } from './task-pool';
import { TtsError, type TtsProvider } from './tts/types';

/** The parts of the playback engine the pipeline writes to and listens on. */
export type NarrationEngine = Pick<PlaybackEngine, 'writer' | 'stations' | 'campaigns' | 'metrics'> & {
  repository: Pick<PlaybackEngine['repository'], 'recentNarration'>;
};

/** A timestamped step of one narration (benchmarks and debugging). `at` is clock time in ms. */
export type PipelineTraceEvent = { narration: number; at: number } & (
  | { type: 'accepted'; requestId: string }
  | { type: 'llm-start' }
  | { type: 'sentence'; seq: number; text: string }
  /** TTS started on a guess of the first chunk (first-guess.ts), before the splitter was sure of it. */
  | { type: 'tts-guess'; text: string }
  | { type: 'text-complete'; total: number }
  | { type: 'tts-start'; seq: number }
  | { type: 'tts-end'; seq: number }
  | { type: 'encode-start'; seq: number }
  | { type: 'encode-end'; seq: number; durationMs: number }
  | { type: 'committed'; seq: number }
);

/** Options for {@link NarrationPipeline}. */
export interface NarrationPipelineOptions {
  engine: NarrationEngine;
  tts: TtsProvider;
  encoder: AudioEncoder;
  /** Writes `narrate` prompts; without one, prompts are spoken verbatim. */
  llm?: LlmClient | null | undefined;
  /** Sentences between TTS start and commit at once, over all narrations (default 3). */
  concurrency?: number;
  /** Keyed by `requestedBy`; none means no limit. */
  rateLimiter?: RateLimiter | null | undefined;
  /** Earlier narrations of the campaign given to the LLM as context (default 5). */
  historyRequests?: number;
  /** Longest wait for that history before writing without it (default 500 ms). */
  historyTimeoutMs?: number;
  splitter?: SentenceSplitterOptions;
  /**
   * Start speaking an LLM narration's first chunk on the splitter's guess of
   * its cut, before the cut is certain (first-guess.ts; default true). At most
   * two TTS calls per narration are spent on guesses that turn out wrong.
   */
  guessFirstChunk?: boolean;
  /** Voices of the campaign's cast; without it every sentence is the narrator's. */
  cast?: SpeakerVoiceResolver | null | undefined;
  clock?: Clock;
  logger?: Logger;
  /** Called at each step of each narration (benchmarks). */
  onTrace?: (event: PipelineTraceEvent) => void;
}

/** The text of a narration is empty (nothing to speak). */
export class EmptyNarrationError extends Error {
  override readonly name = 'EmptyNarrationError';
  constructor() {
    super('nothing to narrate: the text is empty');
  }
}

/**
 * The reason a narration stopped at shutdown. Its request is not failed: it
 * stays queued, and the next start continues its generation where it stopped.
 */
export const SHUTDOWN_REASON = 'generation paused: Bardcast is shutting down; it continues at the next start';

/** A sentence to speak, with the write that makes its text durable (awaited before its audio is stored). */
interface Sentence extends AttributedSentence {
  durable: Promise<void>;
}

/** What the LLM is told besides the prompt: the recent narration, oldest first, and the cast's names. */
interface StorySoFar {
  history: string[];
  cast: string[];
}

const NO_STORY: StorySoFar = { history: [], cast: [] };

/** Where a narration's words come from. */
interface ScriptSource {
  /** Text already stored (a resumed `narrate`), or the whole text (`say`). */
  stored: string;
  /** True when `stored` is the whole text: nothing more will be written. */
  complete: boolean;
  /** The LLM's (continued) output, when more is to be written. */
  stream: (() => AsyncIterable<string>) | null;
  /** `narrate`: record the text as it grows; `say`: its text is the request's, already stored. */
  record: boolean;
}

/** A failure of one stage, kept with where it happened for the request's `error`. */
class StageError extends Error {
  override readonly name = 'StageError';
  constructor(
    readonly stage: 'llm' | 'tts' | 'encode' | 'store',
    readonly seq: number,
    override readonly cause: unknown,
  ) {
    super(describeStageFailure(stage, seq, cause), { cause });
  }
}

/** The station ended the request (skip, stop, stall) while it was being generated. */
class RequestEndedError extends Error {
  override readonly name = 'AbortError';
  constructor(
    readonly status: RequestStatus,
    readonly reason: EndReason,
  ) {
    super(`request ended on the station: ${reason}`);
  }
}

/** A request's `error` text: short, says which step gave up and why. */
function describeStageFailure(stage: StageError['stage'], seq: number, cause: unknown): string {
  const sentence = `sentence ${seq + 1}`;
  switch (stage) {
    case 'llm':
      return cause instanceof Error && cause.name === 'LlmError'
        ? cause.message
        : `LLM failed: ${describeError(cause)}`;
    case 'tts': {
      const exhausted = cause instanceof TtsError ? cause.cause : undefined;
      if (exhausted instanceof RetryExhaustedError) {
        return `TTS failed after ${exhausted.attempts} attempts on ${sentence}: ${describeError(exhausted.cause)}`;
      }
      return `TTS failed on ${sentence}: ${describeError(cause)}`;
    }
    case 'encode':
      return `encoding failed on ${sentence}: ${describeError(cause)}`;
    case 'store':
      return `storing ${sentence} failed: ${describeError(cause)}`;
  }
}

/** One narration being generated. */
interface Job {
  /** Start order; the first part of every TTS rank. */
  no: number;
  campaignId: string;
  voice: string;
  controller: AbortController;
  progress: NarrationProgressTracker;
  request: PlaybackRequest | undefined;
  /** Resolves once the request row exists. */
  created: Promise<PlaybackRequest>;
  /** The first failure of a stage; later ones are its consequences. */
  failure: StageError | undefined;
  /** Set when the station ended the request. */
  ended: RequestEndedError | undefined;
  /** Each speaker's voice, fixed for the whole request at its first line. */
  speakerVoices: Map<string, Promise<string>>;
  /** The first chunk's speech, started on a guess while the LLM writes (a fresh LLM stream only). */
  firstGuess?: FirstChunkGuess | undefined;
}

/** The {@link NarrationService} on the playback engine. */
export class NarrationPipeline implements NarrationService {
  readonly #o: NarrationPipelineOptions;
  readonly #engine: NarrationEngine;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #pool: TaskPool;
  readonly #jobs = new Map<string, Job>();
  readonly #running = new Set<Promise<unknown>>();
  readonly #aborts = new Set<AbortController>();
  #nextJob = 1;
  #closed = false;
  readonly #onRequestEnded = (e: { request: PlaybackRequest; status: RequestStatus; reason: EndReason }) => {
    const job = this.#jobs.get(e.request.id);
    if (!job || e.status === RequestStatus.Played || job.failure) return;
    job.ended = new RequestEndedError(e.status, e.reason);
    this.#log.info(
      { request: e.request.id, reason: e.reason },
      'request ended on air; stopping its generation',
    );
    job.controller.abort(job.ended);
  };

  constructor(options: NarrationPipelineOptions) {
    this.#o = options;
    this.#engine = options.engine;
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.logger ?? silentLogger).child({ module: 'narration' });
    this.#pool = new TaskPool(options.concurrency ?? 3);
    this.#engine.stations.on('requestEnded', this.#onRequestEnded);
  }

  get llmAvailable(): boolean {
    return Boolean(this.#o.llm);
  }

  async voices(): Promise<{ id: string; label: string }[]> {
    return (await this.#o.tts.voices()).map(({ id, label }) => ({ id, label }));
  }

  async start(input: NarrationInput): Promise<NarrationHandle> {
    if (this.#closed) throw new Error('the narration service is closed');
    const receivedAt = input.receivedAt ?? this.#clock.now();
    const text = input.text.trim();
    if (!text) throw new EmptyNarrationError();
    const voice = await this.#chooseVoice(input);
    const taken = this.#o.rateLimiter?.tryTake(input.requestedBy);
    if (taken && !taken.ok) throw new RateLimitedError(taken.retryAfterMs);

    const llm = input.mode === 'narrate' ? this.#o.llm : null;
    const spokenVerbatim = input.mode === 'narrate' && !llm;
    // The mode stored says how the words were made: a prompt spoken verbatim is a `say`.
    const mode = llm ? 'narrate' : 'say';
    const controller = new AbortController();
    const no = this.#nextJob++;
    // History is asked for first (the database answers in order): the LLM waits for it, not for the row.
    const history = llm ? this.#storySoFar(input.campaignId, controller.signal) : Promise.resolve(NO_STORY);
    const created = this.#engine.writer.create(input.campaignId, text, { mode, voice, receivedAt });
    const job: Job = {
      no,
      campaignId: input.campaignId,
      voice,
      controller,
      progress: new NarrationProgressTracker(llm ? 'writing' : 'speaking', null),
      request: undefined,
      created,
      failure: undefined,
      ended: undefined,
      speakerVoices: new Map(),
    };
    const source: ScriptSource = llm
      ? {
          stored: '',
          complete: false,
          record: true,
          stream: () => this.#llmStream(job, llm, { prompt: text }, history),
        }
      : { stored: text, complete: true, record: false, stream: null };
    this.#aborts.add(controller);
    this.#track(this.#generate(job, this.#sentences(job, source, 0), 0));

    let request: PlaybackRequest;
    try {
      request = await created;
    } catch (error) {
      controller.abort(error);
      if (taken?.ok) this.#o.rateLimiter?.refund(input.requestedBy);
      throw error;
    }
    job.request = request;
    job.progress.setRequestId(request.id);
    this.#jobs.set(request.id, job);
    this.#trace(job, { type: 'accepted', requestId: request.id });
    this.#log.info(
      { request: request.id, campaign: input.campaignId, mode: input.mode, voice, spokenVerbatim },
      'narration accepted',
    );
    // Skipped or stopped in the moment between creation and here.
    if (isFinalRequestStatus(request.status)) {
      this.#onRequestEnded({ request, status: request.status, reason: 'skipped' });
    }
    return {
      request,
      spokenVerbatim,
      onProgress: (listener) => job.progress.subscribe(listener),
      done: job.progress.done,
    };
  }

  /**
   * Continues the generation of requests a restart interrupted (the engine's
   * `takeInterrupted()`, in queue order). Each continues at its first sentence
   * without a stored chunk, from the same deterministic split of its stored
   * text: a `say` from its text; a `narrate` from the LLM output stored so far,
   * which the LLM is asked to continue unless it was complete or ends at a
   * sentence end. Nothing is spoken twice and nothing is skipped.
   */
  resume(interrupted: readonly RequestWithChunks[]): void {
    if (this.#closed) return;
    for (const { request, chunks } of interrupted) {
      let stored = 0;
      while (chunks[stored]?.sequenceNumber === stored) stored++;
      this.#resumeOne(request, stored);
    }
  }

  #resumeOne(request: PlaybackRequest, storedChunks: number): void {
    const controller = new AbortController();
    const no = this.#nextJob++;
    const job: Job = {
      no,
      campaignId: request.campaignId,
      voice: request.voice ?? this.#o.tts.defaultVoice,
      controller,
      progress: new NarrationProgressTracker(request.mode === 'narrate' ? 'writing' : 'speaking', null),
      request,
      created: Promise.resolve(request),
      failure: undefined,
      ended: undefined,
      speakerVoices: new Map(),
    };
    job.progress.setRequestId(request.id);
    job.progress.update({ sentencesDone: storedChunks });
    this.#jobs.set(request.id, job);
    this.#aborts.add(controller);
    const source = this.#resumeSource(job, request);
    this.#log.info(
      { request: request.id, mode: request.mode, storedChunks, continuesLlm: source.stream !== null },
      'resuming an interrupted narration',
    );
    this.#track(this.#generate(job, this.#sentences(job, source, storedChunks), storedChunks));
  }

  /** Where a resumed request's remaining words come from. */
  #resumeSource(job: Job, request: PlaybackRequest): ScriptSource {
    if (request.mode !== 'narrate') {
      return { stored: request.text, complete: true, record: false, stream: null };
    }
    const stored = request.script ?? '';
    if (request.scriptComplete) return { stored, complete: true, record: true, stream: null };
    const llm = this.#o.llm;
    // Cut right at a sentence end: the narration ends there (nothing half-said is left to finish).
    if (stored.trim() !== '' && (endsAtSentenceEnd(stored) || !llm)) {
      return { stored, complete: false, record: true, stream: null };
    }
    if (!llm) {
      return {
        stored,
        complete: true,
        record: true,
        stream: () => {
          throw new StageError('llm', 0, new Error('no LLM is configured to write this narration'));
        },
      };
    }
    const history = this.#storySoFar(request.campaignId, job.controller.signal);
    return {
      stored,
      complete: false,
      record: true,
      stream: () =>
        this.#llmStream(
          job,
          llm,
          { prompt: request.text, ...(stored ? { continueFrom: stored } : {}) },
          history,
        ),
    };
  }

  /**
   * Takes no new narrations, lets running generations finish for up to
   * `drainMs` (so a restart doesn't cut a narration in half), then aborts the
   * rest and waits for them to wind down.
   */
  async close(options: { drainMs?: number } = {}): Promise<void> {
    this.#closed = true;
    const drainMs = options.drainMs ?? 0;
    if (drainMs > 0 && this.#running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#running]),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs))),
      ]);
      clearTimeout(timer);
    }
    for (const controller of this.#aborts) controller.abort(new Error(SHUTDOWN_REASON));
    await Promise.allSettled([...this.#running]);
    this.#engine.stations.off('requestEnded', this.#onRequestEnded);
  }

  /** The explicit voice (must exist), else the campaign's (if this engine has it), else the default. */
  async #chooseVoice(input: NarrationInput): Promise<string> {
    const tts = this.#o.tts;
    const voices = await tts.voices();
    const known = (id: string): boolean => voices.some((v) => v.id === id);
    if (input.voice !== undefined && input.voice !== '') {
      if (!known(input.voice)) throw new UnknownVoiceError(input.voice);
      return input.voice;
    }
    const campaign = await this.#engine.campaigns.get(input.campaignId).catch(() => null);
    const stored = campaign?.ttsVoice;
    if (stored && known(stored)) return stored;
    if (stored) {
      this.#log.warn(
        { campaign: input.campaignId, voice: stored, provider: tts.name },
        `campaign voice not offered by ${tts.name}; using ${tts.defaultVoice}`,
      );
    }
    return tts.defaultVoice;
  }

  /** The campaign's recent narration and cast names, or nothing of either if the database is slow or down. */
  async #storySoFar(campaignId: string, signal: AbortSignal): Promise<StorySoFar> {
    const limit = this.#o.historyRequests ?? 5;
    if (limit <= 0) return NO_STORY;
    const timeoutMs = this.#o.historyTimeoutMs ?? 500;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const timeout = new Promise<StorySoFar>((resolve) => {
      timer = this.#clock.setTimeout(() => {
        this.#log.warn({ campaign: campaignId, timeoutMs }, 'story history too slow; writing without it');
        resolve(NO_STORY);
      }, timeoutMs);
    });
    // The cast's names are a nicety: if they can't be read, the history still goes to the LLM.
    const names = (this.#o.cast?.names?.(campaignId) ?? Promise.resolve([])).catch((): string[] => []);
    const read = Promise.all([this.#engine.repository.recentNarration(campaignId, limit), names]).then(
      ([history, cast]) => ({ history, cast }),
      (error: unknown) => {
        if (!signal.aborted) this.#log.warn({ err: describeError(error) }, 'story history unavailable');
        return NO_STORY;
      },
    );
    try {
      return await Promise.race([read, timeout]);
    } finally {
      if (timer) this.#clock.clearTimeout(timer);
    }
  }

  /**
   * The sentences of a narration from `skip` on: the stored text, then what
   * the LLM adds to it, through one splitter (the split depends only on the
   * text, not on how it arrives). A `narrate` script is recorded whenever a
   * sentence becomes certain, and each sentence carries that write, so its
   * text is durable before its audio is stored.
   */
  async *#sentences(job: Job, source: ScriptSource, skip: number): AsyncGenerator<Sentence> {
    // `say` text names its speakers in `Name:` lines; the LLM marks them up.
    const splitter = createAttributedSplitter({ lineSpeakers: !source.record, splitter: this.#o.splitter });
    let script = source.stored;
    let durable: Promise<void> = Promise.resolve();
    let index = 0;
    const record = (complete: boolean): void => {
      if (!source.record) return;
      const text = script;
      // The first sentences go to TTS while the request row is still being created.
      const write = job.created.then((r) => this.#engine.writer.recordScript(r.id, text, complete));
      // Sentences wait on it; a failure surfaces there as a store failure (or not at all once aborted).
      durable = durable.then(() => write);
      durable.catch(() => {});
    };
    const take = function* (sentences: AttributedSentence[]): Generator<Sentence> {
      for (const sentence of sentences) if (index++ >= skip) yield { ...sentence, durable };
    };
    yield* take(splitter.push(script));
    if (source.stream) {
      const guess = skip === 0 && this.#o.guessFirstChunk !== false ? this.#guessFirst(job) : null;
      const stream = source.stream();
      for await (const delta of stream) {
        script += delta;
        const certain = splitter.push(delta);
        if (certain.length > 0) record(false);
        else if (index === 0) guess?.offer(splitter.tentativeFirst());
        yield* take(certain);
      }
    }
    if (!source.complete) record(true);
    yield* take(splitter.flush());
  }

  /** Starts guessing the first chunk of `job` (see first-guess.ts). */
  #guessFirst(job: Job): FirstChunkGuess {
    job.firstGuess = new FirstChunkGuess({
      tts: this.#o.tts,
      voice: job.voice,
      signal: job.controller.signal,
      onGuess: (text) => this.#trace(job, { type: 'tts-guess', text }),
    });
    return job.firstGuess;
  }

  /** `narrate`: the LLM's (continued) stream, after the story so far. */
  async *#llmStream(
    job: Job,
    llm: LlmClient,
    request: { prompt: string; continueFrom?: string },
    story: Promise<StorySoFar>,
  ): AsyncGenerator<string> {
    const { signal } = job.controller;
    const { history, cast } = await story;
    if (signal.aborted) throw abortReason(signal);
    this.#trace(job, { type: 'llm-start' });
    try {
      yield* llm.streamNarration({ ...request, history, cast, signal });
    } catch (error) {
      if (signal.aborted || isAbortError(error)) throw error;
      throw new StageError('llm', 0, error);
    }
  }

  /** Drives one narration from its sentences to a GENERATED (or FAILED) request. */
  async #generate(job: Job, sentences: AsyncIterable<Sentence>, firstSeq: number): Promise<void> {
    const { signal } = job.controller;
    const tasks: Promise<void>[] = [];
    let previous: Promise<void> = Promise.resolve();
    let total = firstSeq;
    const fail = (error: unknown): void => {
      if (signal.aborted || job.failure || isAbortError(error)) return;
      job.failure = error instanceof StageError ? error : new StageError('store', total, error);
      job.controller.abort(job.failure);
    };
    try {
      for await (const { durable, ...sentence } of sentences) {
        const seq = total++;
        this.#trace(job, { type: 'sentence', seq, text: sentence.text });
        const after = previous.then(() => durable);
        after.catch(() => {}); // #speak reports it, unless aborted first
        const task = this.#pool.run([job.no, seq], () => this.#speak(job, seq, sentence, after), signal);
        task.catch(fail);
        tasks.push(task);
        previous = task;
      }
      this.#trace(job, { type: 'text-complete', total });
      job.progress.update({ phase: 'speaking', sentencesTotal: total });
    } catch (error) {
      fail(error);
    }
    await Promise.allSettled(tasks);
    job.firstGuess?.cancel();
    await this.#finish(job, total);
  }

  /**
   * One sentence: TTS (in parallel with its neighbours), then, once sentence
   * `seq - 1` is committed, encode and commit. TTS calls wait on the network;
   * encoding and committing use this machine's CPU and database, so doing
   * them one at a time, in order, gives the sentence that airs next all of it
   * (measured: a parallel encode or a fresh ffmpeg start beside the first
   * commit cost the first chunk hundreds of ms on a busy 2-core machine).
   * Audio waiting for its turn stays in memory, so an abort leaves no files.
   */
  async #speak(
    job: Job,
    seq: number,
    { text, speaker }: AttributedSentence,
    previous: Promise<void>,
  ): Promise<void> {
    const { signal } = job.controller;
    const voice = speaker === null ? job.voice : await this.#speakerVoice(job, speaker);
    // The first chunk's speech may be on its way already, started on a guess of its text.
    const guessed = seq === 0 ? job.firstGuess?.take({ text, speaker }) : null;
    const ttsStarted = this.#clock.now();
    this.#trace(job, { type: 'tts-start', seq });
    let audio;
    try {
      audio = await (guessed ?? this.#o.tts.synthesize({ text, voice, signal }));
    } catch (error) {
      throw signal.aborted ? abortReason(signal) : new StageError('tts', seq, error);
    }
    const ttsMs = this.#clock.now() - ttsStarted;
    this.#trace(job, { type: 'tts-end', seq });
    await untilAborted(previous, signal);
    const encodeStarted = this.#clock.now();
    this.#trace(job, { type: 'encode-start', seq });
    let encoded;
    try {
      encoded = await this.#o.encoder.encode(audio, signal);
    } catch (error) {
      throw signal.aborted ? abortReason(signal) : new StageError('encode', seq, error);
    }
    this.#trace(job, { type: 'encode-end', seq, durationMs: encoded.durationMs });
    const encodeMs = this.#clock.now() - encodeStarted;
    this.#engine.metrics.chunkGenerationSeconds.observe((ttsMs + encodeMs) / 1000);
    const request = await job.created;
    if (signal.aborted) throw abortReason(signal);
    try {
      await this.#engine.writer.addChunk(request.id, seq, { text, audio: encoded, speaker, voice });
    } catch (error) {
      if (error instanceof RequestClosedError || signal.aborted) throw abortReason(signal);
      throw new StageError('store', seq, error);
    }
    this.#trace(job, { type: 'committed', seq });
    const done = job.progress.current.sentencesDone + 1;
    job.progress.update({ sentencesDone: done });
    if (seq === 0) {
      this.#log.debug(
        { request: request.id, ttsMs, encodeMs, msSinceTts: this.#clock.now() - ttsStarted },
        'first chunk stored',
      );
    }
  }

  /** The voice of a cast member, asked once per request (the narrator's when there is no cast). */
  #speakerVoice(job: Job, speaker: string): Promise<string> {
    const cast = this.#o.cast;
    if (!cast) return Promise.resolve(job.voice);
    const key = speaker.toLowerCase();
    let voice = job.speakerVoices.get(key);
    if (!voice) {
      voice = cast.voiceFor(job.campaignId, speaker, job.voice).catch(() => job.voice);
      job.speakerVoices.set(key, voice);
    }
    return voice;
  }

  /** Completes or fails the request and settles the progress. */
  async #finish(job: Job, total: number): Promise<void> {
    this.#aborts.delete(job.controller);
    let request: PlaybackRequest;
    try {
      request = await job.created;
    } catch (error) {
      job.progress.update({
        phase: 'failed',
        error: `could not create the request: ${describeError(error)}`,
      });
      return;
    }
    const writer = this.#engine.writer;
    const log = this.#log.child({ request: request.id });
    try {
      if (job.ended) {
        const status = job.ended.status;
        const error = request.error ?? job.ended.message;
        job.progress.update(
          status === RequestStatus.Cancelled ? { phase: 'cancelled' } : { phase: 'failed', error },
        );
        return;
      }
      const signal = job.controller.signal;
      if (!job.failure && signal.aborted) {
        // Shutdown: the request stays queued with its text and chunks; the next start continues it.
        const reason = describeError(signal.reason);
        log.info({ reason }, 'narration paused for shutdown');
        job.progress.update({ phase: 'failed', error: reason });
        return;
      }
      if (!job.failure && total === 0) {
        job.failure = new StageError('llm', 0, new Error('the model returned no speakable text'));
      }
      if (job.failure) {
        const reason = job.failure.message;
        log.warn({ err: reason }, 'narration failed');
        await writer.fail(request.id, reason);
        job.progress.update({ phase: 'failed', error: reason });
        return;
      }
      await writer.complete(request.id, total);
      log.info({ sentences: total }, 'narration generated');
      job.progress.update({ phase: 'done' });
    } catch (error) {
      if (error instanceof RequestClosedError) {
        job.progress.update(
          error.status === RequestStatus.Cancelled
            ? { phase: 'cancelled' }
            : { phase: 'failed', error: request.error ?? 'request closed' },
        );
        return;
      }
      log.error({ err: describeError(error) }, 'could not finish the narration');
      job.progress.update({ phase: 'failed', error: describeError(error) });
    } finally {
      this.#jobs.delete(request.id);
    }
  }

  #track(promise: Promise<unknown>): void {
    const tracked = promise.catch((error: unknown) => {
      this.#log.error({ err: describeError(error) }, 'narration crashed');
    });
    this.#running.add(tracked);
    void tracked.finally(() => this.#running.delete(tracked));
  }

  #trace(job: Job, event: DistributiveOmit<PipelineTraceEvent, 'narration' | 'at'>): void {
    this.#o.onTrace?.({ ...event, narration: job.no, at: this.#clock.now() } as PipelineTraceEvent);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Waits for `promise`; rejects with the abort reason as soon as `signal` fires. */
function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? abortReason(signal) : error);
      },
    );
  });
}

/** Creates a {@link NarrationPipeline}. */
export function createNarrationPipeline(options: NarrationPipelineOptions): NarrationPipeline {
  return new NarrationPipeline(options);
}
