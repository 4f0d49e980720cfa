/**
 * `GET /api/audio/stream/{request_id}`: one request as a single progressive
 * MP3. Stored chunks go out at once, back to back (Xing/Info frames removed so
 * the concatenation is one clean stream); each later chunk goes out the moment
 * the station announces it (`chunkReady`), with no polling.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../../log';
import { GenerationStatus, RequestStatus, type AudioChunk, type PlaybackRequest } from '../../playback';
import type { FoundRequest } from '../lookup';
import type { StationFeed } from '../station-feed';
import { audioFrames, type ChunkAudioCache } from './chunk-audio';
import { writeBytes } from './http-write';

/** Options for {@link RequestStream}. */
export interface RequestStreamOptions {
  found: FoundRequest;
  /** Request position (playable seconds) to start at. */
  fromSec: number;
  res: ServerResponse;
  feed: StationFeed;
  audio: ChunkAudioCache;
  log: Logger;
}

/** A running per-request stream; {@link done} settles when the response is over. */
export class RequestStream {
  readonly #o: RequestStreamOptions;
  readonly #request: PlaybackRequest;
  readonly #chunks: readonly (AudioChunk | undefined)[];
  readonly #live: boolean;
  #next = 0;
  #skipSec: number;
  #pumping = false;
  #again = false;
  #finished = false;
  #unsubscribe: () => void = () => {};
  #resolve: () => void = () => {};
  /** Settles when the response ended (last chunk, request cancelled, client gone or {@link close}). */
  readonly done: Promise<void>;

  constructor(options: RequestStreamOptions) {
    this.#o = options;
    const f = options.found;
    this.#request = f.live ? f.entry.request : f.request;
    // In memory, the station's own array: chunks appear in it as they are stored.
    this.#chunks = f.live ? f.entry.chunks : f.chunks;
    this.#live = f.live;
    this.#skipSec = options.fromSec;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
  }

  get requestId(): string {
    return this.#request.id;
  }

  /** Subscribes first, then writes what is stored: nothing announced in between is missed. */
  start(): void {
    const res = this.#o.res;
    res.on('close', () => this.#finish());
    if (this.#live) {
      this.#unsubscribe = this.#o.feed.subscribe(this.#request.campaignId, (event) => {
        if (event.type === 'queueChanged' || event.type === 'scheduleChanged') {
          this.#pump(); // generation may have finished
        } else if ('request' in event && event.request.id === this.#request.id) {
          if (event.type === 'chunkReady' || event.type === 'requestEnded') this.#pump();
        }
      });
    }
    this.#pump();
  }

  /** Ends the response now (server shutdown). */
  close(): void {
    if (!this.#o.res.writableEnded && !this.#o.res.destroyed) this.#o.res.end();
    this.#finish();
  }

  #pump(): void {
    if (this.#finished) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    void this.#drain()
      .catch((err: unknown) => {
        this.#o.log.warn({ err, request: this.#request.id }, 'request stream failed');
        this.#o.res.destroy();
        this.#finish();
      })
      .finally(() => {
        this.#pumping = false;
        if (this.#again && !this.#finished) {
          this.#again = false;
          this.#pump();
        }
      });
  }

  async #drain(): Promise<void> {
    for (;;) {
      if (this.#finished) return;
      if (this.#request.status === RequestStatus.Cancelled) return this.#end();
      const chunk = this.#chunks[this.#next];
      if (!chunk) {
        if (this.#complete()) return this.#end();
        return; // wait for the next chunkReady
      }
      this.#next++;
      const durationSec = chunk.durationMs / 1000;
      if (this.#skipSec >= durationSec) {
        // `from` lies beyond this chunk: skip it whole, without reading it.
        this.#skipSec -= durationSec;
        continue;
      }
      let audio;
      try {
        audio = await this.#o.audio.get(chunk);
      } catch (err) {
        // Deleted by retention cleanup, or unreadable: the rest still plays.
        this.#o.log.warn({ err, chunk: chunk.id }, 'chunk audio missing from the request stream');
        continue;
      }
      const bytes = audioFrames(audio, this.#skipSec);
      this.#skipSec = 0;
      if (!(await writeBytes(this.#o.res, bytes))) return this.#finish();
    }
  }

  /** True when no more chunks will come. */
  #complete(): boolean {
    const r = this.#request;
    if (!this.#live) return true;
    if (r.generation === GenerationStatus.Generated && r.totalChunks !== null && this.#next >= r.totalChunks)
      return true;
    if (r.generation === GenerationStatus.Failed) return true;
    return r.status === RequestStatus.Played || r.status === RequestStatus.Failed;
  }

  #end(): void {
    if (!this.#o.res.writableEnded && !this.#o.res.destroyed) this.#o.res.end();
    this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#unsubscribe();
    this.#resolve();
  }
}
