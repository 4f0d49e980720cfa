import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import { AUDIO_DEBUG, type Logger } from '../log';
import type { AudioStore } from './audio-store';
import type { PlaybackRepository } from './repository';
import { isFinalRequestStatus } from './states';
import type { StationRegistry } from './stations';
import { transitionChunk, transitionGeneration } from './transitions';
import {
  ChunkStatus,
  GenerationStatus,
  RequestStatus,
  type AudioChunk,
  type EncodedAudio,
  type NarrationMode,
  type PlaybackRequest,
} from './types';

/** Options for {@link PlaybackRequestWriter}. */
export interface PlaybackRequestWriterOptions {
  repository: PlaybackRepository;
  store: AudioStore;
  stations: StationRegistry;
  clock: Clock;
  log: Logger;
  /** Highest queue position used so far per campaign (from the database at start-up). */
  queueSeqs?: Map<string, number>;
}

/** Writing to a request that is already final (skipped, stopped, failed). */
export class RequestClosedError extends Error {
  constructor(
    readonly requestId: string,
    /** The request's final status, or `unknown` when it isn't (or no longer) open in this writer. */
    readonly status: RequestStatus | 'unknown',
  ) {
    super(`request ${requestId} is ${status}; it takes no more audio`);
    this.name = 'RequestClosedError';
  }
}

/** A chunk sequence number that is out of range or already used. */
export class ChunkSequenceError extends Error {
  constructor(
    readonly requestId: string,
    readonly sequenceNumber: number,
    reason: string,
  ) {
    super(`request ${requestId} chunk ${sequenceNumber}: ${reason}`);
    this.name = 'ChunkSequenceError';
  }
}

/** The text and audio of one chunk, as the narration pipeline hands it over. */
export interface ChunkInput {
  text: string;
  audio: EncodedAudio;
  /** A cast name; null or absent for the narrator. */
  speaker?: string | null;
  /** The voice it was spoken with. */
  voice?: string | null;
}

interface OpenRequest {
  request: PlaybackRequest;
  nextSeq: number;
  /** Chunks that arrived before their predecessors, waiting for their turn. */
  waiting: Map<number, { chunk: AudioChunk; done: (err?: unknown) => void }>;
  /** Serialises commits so rows are written in sequence order. */
  tail: Promise<void>;
}

/**
 * Creates playback requests and stores their chunks (DESIGN.md rules 2, 3, 6).
 * Audio files are written first, then the row; only then is the station told,
 * so nothing is announced that isn't durable. Chunks may arrive in any order;
 * they are committed and announced in sequence order.
 */
export class PlaybackRequestWriter {
  readonly #o: PlaybackRequestWriterOptions;
  readonly #open = new Map<string, OpenRequest>();
  /** Final statuses of recently closed requests, for a clear error to late chunks (bounded). */
  readonly #closed = new Map<string, RequestStatus>();
  readonly #seqs: Map<string, number>;
  readonly #log: Logger;

  constructor(options: PlaybackRequestWriterOptions) {
    this.#o = options;
    this.#seqs = options.queueSeqs ?? new Map();
    this.#log = options.log;
    // A request the station ended (skip, stop, stall) takes no more chunks: forget it.
    options.stations.on('requestEnded', ({ request }) => {
      const open = this.#open.get(request.id);
      if (open) void this.#close(open, new RequestClosedError(request.id, request.status));
    });
  }

  /** Creates a PENDING request at the end of the campaign's queue. */
  async create(
    campaignId: string,
    text: string,
    options: { mode?: NarrationMode; voice?: string | null; receivedAt?: number } = {},
  ): Promise<PlaybackRequest> {
    const queueSeq = (this.#seqs.get(campaignId) ?? 0) + 1;
    this.#seqs.set(campaignId, queueSeq);
    const request: PlaybackRequest = {
      id: randomUUID(),
      campaignId,
      queueSeq,
      mode: options.mode ?? 'say',
      text,
      status: RequestStatus.Pending,
      generation: GenerationStatus.Pending,
      error: null,
      totalChunks: null,
      voice: options.voice ?? null,
      script: null,
      scriptComplete: false,
      createdAt: new Date(this.#o.clock.now()),
      startedAt: null,
      finishedAt: null,
    };
    await this.#o.repository.apply({ op: 'createRequest', request });
    this.#open.set(request.id, { request, nextSeq: 0, waiting: new Map(), tail: Promise.resolve() });
    this.#log.info(
      { request: request.id, campaign: campaignId, mode: request.mode },
      `${AUDIO_DEBUG} request created`,
    );
    this.#o.stations.get(campaignId).enqueue(request, [], options.receivedAt ?? this.#o.clock.now());
    return request;
  }

  /**
   * Takes chunks again for a request whose generation a restart interrupted
   * (recovery hands it over with the chunks already stored, `0..n-1`): the
   * next chunk is `n`.
   */
  reopen(request: PlaybackRequest, storedChunks: number): void {
    if (isClosed(request) || this.#open.has(request.id)) return;
    this.#open.set(request.id, {
      request,
      nextSeq: storedChunks,
      waiting: new Map(),
      tail: Promise.resolve(),
    });
  }

  /**
   * Stores a `narrate` request's text as the LLM writes it (`script` only
   * grows; `complete` once the LLM has finished). Resolves once it is durable,
   * so the sentences in it can be spoken. A closed request is left alone.
   */
  async recordScript(requestId: string, script: string, complete: boolean): Promise<void> {
    const open = this.#open.get(requestId);
    if (!open || isClosed(open.request) || open.request.scriptComplete) return;
    open.request.script = script;
    open.request.scriptComplete = complete;
    await this.#o.repository.apply({ op: 'recordScript', id: requestId, script, complete });
  }

  /** True while the request still takes chunks (not final, not finished generating). */
  isOpen(requestId: string): boolean {
    const open = this.#open.get(requestId);
    return open !== undefined && !isClosed(open.request);
  }

  /**
   * Stores chunk `seq` of a request. Resolves once the chunk is committed and
   * announced (after all earlier chunks). Throws {@link RequestClosedError} if
   * the request was skipped or stopped meanwhile: the caller should stop.
   */
  async addChunk(requestId: string, seq: number, input: ChunkInput): Promise<AudioChunk> {
    const open = this.#requireOpen(requestId);
    if (!Number.isInteger(seq) || seq < open.nextSeq || open.waiting.has(seq)) {
      throw new ChunkSequenceError(requestId, seq, 'already stored or invalid');
    }
    const { request } = open;
    const base = `${request.campaignId}/${request.id}/${String(seq).padStart(4, '0')}`;
    const chunk: AudioChunk = {
      id: randomUUID(),
      requestId,
      sequenceNumber: seq,
      status: ChunkStatus.Ready,
      text: input.text,
      opusKey: `${base}.opus`,
      opusSizeBytes: input.audio.opus.byteLength,
      mp3Key: `${base}.mp3`,
      mp3SizeBytes: input.audio.mp3.byteLength,
      mimeType: 'audio/mpeg',
      durationMs: input.audio.durationMs,
      sampleCount: input.audio.sampleCount,
      frameCount: input.audio.mp3FrameCount,
      createdAt: new Date(this.#o.clock.now()),
      playedAt: null,
      ...(input.speaker ? { speaker: input.speaker } : {}),
      ...(input.voice ? { voice: input.voice } : {}),
    };
    await Promise.all([
      this.#o.store.put(chunk.opusKey, input.audio.opus),
      this.#o.store.put(chunk.mp3Key, input.audio.mp3),
    ]);
    if (this.#open.get(requestId) !== open || isClosed(request)) {
      // Closed while the files were being written: nothing will reference them.
      await this.#discardFiles(chunk);
      throw new RequestClosedError(requestId, isClosed(request) ? request.status : 'unknown');
    }
    return new Promise<AudioChunk>((resolve, reject) => {
      open.waiting.set(seq, { chunk, done: (err) => (err ? reject(err) : resolve(chunk)) });
      this.#drain(open);
    });
  }

  /** All `totalChunks` chunks are stored: generation is GENERATED. */
  async complete(requestId: string, totalChunks: number): Promise<void> {
    const open = this.#requireOpen(requestId);
    await open.tail;
    if (open.nextSeq !== totalChunks || open.waiting.size > 0) {
      throw new ChunkSequenceError(
        requestId,
        open.nextSeq,
        `complete(${totalChunks}) with ${open.nextSeq} stored`,
      );
    }
    if (isClosed(open.request)) throw new RequestClosedError(requestId, open.request.status);
    await this.#o.repository.apply(
      transitionGeneration(open.request, GenerationStatus.Generated, { totalChunks }),
    );
    this.#open.delete(requestId);
    this.#log.info({ request: requestId, totalChunks }, `${AUDIO_DEBUG} generation GENERATED`);
    this.#o.stations.get(open.request.campaignId).generationChanged(requestId);
  }

  /** Generation gave up: the request fails (after airing what it already has, if on air). */
  async fail(requestId: string, error: string): Promise<void> {
    const open = this.#open.get(requestId);
    if (!open) return;
    await this.#close(open, new RequestClosedError(requestId, RequestStatus.Failed));
    if (
      open.request.generation === GenerationStatus.Failed ||
      open.request.generation === GenerationStatus.Generated
    ) {
      return;
    }
    await this.#o.repository.apply(transitionGeneration(open.request, GenerationStatus.Failed, { error }));
    this.#log.warn({ request: requestId, error }, `${AUDIO_DEBUG} generation FAILED`);
    this.#o.stations.get(open.request.campaignId).generationChanged(requestId);
  }

  /** Forgets an open request: chunks still waiting for their turn are refused and their files removed. */
  async #close(open: OpenRequest, reason: RequestClosedError): Promise<void> {
    this.#open.delete(open.request.id);
    if (reason.status !== 'unknown') {
      this.#closed.set(open.request.id, reason.status);
      if (this.#closed.size > 1000) this.#closed.delete(this.#closed.keys().next().value as string);
    }
    const waiting = [...open.waiting.values()];
    open.waiting.clear();
    for (const w of waiting) {
      await this.#discardFiles(w.chunk);
      w.done(reason);
    }
    await open.tail;
  }

  async #discardFiles(chunk: AudioChunk): Promise<void> {
    await Promise.all([this.#o.store.delete(chunk.opusKey), this.#o.store.delete(chunk.mp3Key)]).catch(
      () => {},
    );
  }

  #requireOpen(requestId: string): OpenRequest {
    const open = this.#open.get(requestId);
    if (!open) throw new RequestClosedError(requestId, this.#closed.get(requestId) ?? 'unknown');
    if (isClosed(open.request)) {
      this.#open.delete(requestId);
      throw new RequestClosedError(requestId, open.request.status);
    }
    return open;
  }

  /** Commits waiting chunks while the next one in sequence is present. */
  #drain(open: OpenRequest): void {
    open.tail = open.tail.then(async () => {
      for (let next = open.waiting.get(open.nextSeq); next; next = open.waiting.get(open.nextSeq)) {
        open.waiting.delete(open.nextSeq);
        const { chunk, done } = next;
        if (isClosed(open.request)) {
          await this.#discardFiles(chunk);
          done(new RequestClosedError(open.request.id, open.request.status));
          continue;
        }
        try {
          await this.#o.repository.apply({ op: 'createChunk', chunk });
          if (open.request.generation === GenerationStatus.Pending) {
            await this.#o.repository.apply(transitionGeneration(open.request, GenerationStatus.Generating));
          }
          open.nextSeq++;
          if (isClosed(open.request)) {
            // Skipped while the row was being written: the station won't air it.
            await this.#o.repository.apply(
              transitionChunk(chunk, ChunkStatus.Skipped, new Date(this.#o.clock.now())),
            );
            done(new RequestClosedError(open.request.id, open.request.status));
            continue;
          }
          this.#o.stations.get(open.request.campaignId).chunkAdded(chunk);
          done();
        } catch (err) {
          done(err);
        }
      }
    });
  }
}

function isClosed(request: PlaybackRequest): boolean {
  return isFinalRequestStatus(request.status);
}
