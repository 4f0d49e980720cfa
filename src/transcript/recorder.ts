/**
 * Writes every narration that leaves the station into the campaign's
 * transcript (`transcript_entries`): the sentences with their speakers,
 * which of them aired, when, by whom, and how it ended. Its own table, so
 * the transcript outlives the audio retention.
 */
import type { Clock } from '../clock';
import type { PrismaClient } from '../generated/prisma/client';
import { silentLogger, type Logger } from '../log';
import { describeError } from '../narration/retry';
import type { NarrationHandle, NarrationInput, NarrationService } from '../narration/service';
import {
  ChunkStatus,
  RequestStatus,
  type PlaybackRepository,
  type StationEvents,
  type StationRegistry,
} from '../playback';
import type { TranscriptLine } from './types';

/** Options for {@link TranscriptRecorder}. */
export interface TranscriptRecorderOptions {
  prisma: PrismaClient;
  stations: StationRegistry;
  repository: Pick<PlaybackRepository, 'getRequest'>;
  clock: Clock;
  logger?: Logger;
}

type Ended = StationEvents['requestEnded'][0];
type Started = StationEvents['chunkStarted'][0];

/** Listens to the stations and records each ended request. */
export class TranscriptRecorder {
  readonly #o: TranscriptRecorderOptions;
  readonly #log: Logger;
  /** Who asked for each request still in play (bounded). */
  readonly #requesters = new Map<string, string>();
  /** Chunks seen going on air, per request, until the request ends. */
  readonly #aired = new Map<string, Set<string>>();
  readonly #pending = new Set<Promise<void>>();
  readonly #onEnded = (e: Ended): void => {
    const write = this.#record(e)
      .catch((error: unknown) =>
        this.#log.warn({ request: e.request.id, err: describeError(error) }, 'transcript entry not written'),
      )
      .finally(() => this.#pending.delete(write));
    this.#pending.add(write);
  };
  readonly #onChunk = (e: Started): void => {
    let set = this.#aired.get(e.request.id);
    if (!set) this.#aired.set(e.request.id, (set = new Set()));
    set.add(e.chunk.id);
  };

  constructor(options: TranscriptRecorderOptions) {
    this.#o = options;
    this.#log = (options.logger ?? silentLogger).child({ module: 'transcript' });
    options.stations.on('requestEnded', this.#onEnded);
    options.stations.on('chunkStarted', this.#onChunk);
  }

  /** Remembers who asked for a request (the transcript's "by whom"). */
  noteRequester(requestId: string, requestedBy: string): void {
    this.#requesters.set(requestId, requestedBy);
    if (this.#requesters.size > 5000) this.#requesters.delete(this.#requesters.keys().next().value as string);
  }

  /** The narration service, noting who asked for each narration it starts. */
  track<S extends NarrationService>(service: S): S {
    const start = async (input: NarrationInput): Promise<NarrationHandle> => {
      const handle = await service.start(input);
      this.noteRequester(handle.request.id, input.requestedBy);
      return handle;
    };
    return new Proxy(service, {
      get: (target, key, receiver) => (key === 'start' ? start : Reflect.get(target, key, receiver)),
    });
  }

  /** Waits for entries being written (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  async close(): Promise<void> {
    this.#o.stations.off('requestEnded', this.#onEnded);
    this.#o.stations.off('chunkStarted', this.#onChunk);
    await this.flush();
  }

  async #record(e: Ended): Promise<void> {
    const { request } = e;
    const aired = this.#aired.get(request.id) ?? new Set<string>();
    this.#aired.delete(request.id);
    const requestedBy = this.#requesters.get(request.id) ?? null;
    this.#requesters.delete(request.id);
    const stored = await this.#o.repository.getRequest(request.id);
    const played = e.status === RequestStatus.Played;
    const lines: TranscriptLine[] = (stored?.chunks ?? []).map((c) => ({
      speaker: c.speaker ?? null,
      text: c.text,
      aired: played || aired.has(c.id) || c.status === ChunkStatus.Played || c.status === ChunkStatus.Playing,
    }));
    const endedAt = request.finishedAt ?? new Date(this.#o.clock.now());
    const data = {
      campaignId: request.campaignId,
      mode: request.mode,
      requestedBy,
      status: e.status,
      error: e.status === RequestStatus.Failed ? (request.error ?? e.reason) : null,
      lines: lines as unknown as object,
      queuedAt: request.createdAt,
      airedAt: request.startedAt,
      endedAt,
    };
    await this.#o.prisma.transcriptEntry.upsert({
      where: { requestId: request.id },
      create: { requestId: request.id, ...data },
      update: data,
    });
  }
}
