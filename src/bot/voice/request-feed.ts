import { PassThrough } from 'node:stream';
import { AUDIO_DEBUG, type Logger } from '../../log';
import type { AudioChunk } from '../../playback';
import { OggOpusJoiner } from './ogg-opus-stream';

/** Options for {@link RequestFeed}. */
export interface RequestFeedOptions {
  requestId: string;
  /** Sequence number of the first chunk to air. */
  startIndex: number;
  /** Milliseconds into that chunk (late start after a (re)join). */
  offsetMs: number;
  /** Reads a chunk's Ogg Opus bytes (prefetched when possible). */
  load(chunk: AudioChunk): Promise<Buffer>;
  log: Logger;
}

/**
 * The continuous Ogg Opus stream of one request, fed to ONE AudioResource.
 * Chunks are appended as soon as they exist — the next chunk's packets sit in
 * the stream long before the current one finishes — so the player reads from
 * chunk to chunk with no Idle and no gap. Bytes load in parallel but are
 * written strictly in sequence order.
 */
export class RequestFeed {
  readonly requestId: string;
  readonly stream = new PassThrough();
  readonly #joiner = new OggOpusJoiner();
  readonly #options: RequestFeedOptions;
  #nextSeq: number;
  #firstOffsetMs: number;
  #tail: Promise<void> = Promise.resolve();
  #written: number[] = [];
  #finished = false;
  #destroyed = false;

  constructor(options: RequestFeedOptions) {
    this.requestId = options.requestId;
    this.#options = options;
    this.#nextSeq = options.startIndex;
    this.#firstOffsetMs = options.offsetMs;
    // A consumer that goes away (player destroyed the resource) must not crash writes.
    this.stream.on('error', () => undefined);
  }

  /** Sequence numbers written to the stream so far, in order. */
  get written(): readonly number[] {
    return this.#written;
  }

  /** Queued and not yet written, or finished. */
  get finished(): boolean {
    return this.#finished;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Appends every chunk from the next expected sequence number on that exists in `chunks`. */
  pump(chunks: readonly (AudioChunk | undefined)[]): void {
    if (this.#finished || this.#destroyed) return;
    for (let chunk = chunks[this.#nextSeq]; chunk; chunk = chunks[this.#nextSeq]) {
      this.#nextSeq++;
      const skipMs = this.#firstOffsetMs;
      this.#firstOffsetMs = 0;
      const bytes = this.#options.load(chunk);
      bytes.catch(() => undefined); // handled in order below
      const c = chunk;
      this.#tail = this.#tail.then(async () => {
        try {
          const ogg = await bytes;
          if (this.#destroyed) return;
          const out = this.#joiner.append(ogg, { skipMs });
          this.stream.write(out.bytes);
          this.#written.push(c.sequenceNumber);
        } catch (err) {
          // One unreadable chunk costs its sentence, not the whole request.
          this.#options.log.warn(
            { err, request: this.requestId, chunk: c.id, seq: c.sequenceNumber },
            `${AUDIO_DEBUG} voice: chunk audio unreadable; skipped`,
          );
        }
      });
    }
  }

  /** No more chunks: the stream ends after those already queued (the player drains it). */
  finish(): void {
    if (this.#finished || this.#destroyed) return;
    this.#finished = true;
    this.#tail = this.#tail.then(() => {
      if (!this.#destroyed) this.stream.end();
    });
  }

  /** Drops everything at once (skip/stop). */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.stream.destroy();
  }

  /** Resolves once everything queued so far is in the stream. */
  flushed(): Promise<void> {
    return this.#tail;
  }
}
