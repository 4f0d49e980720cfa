import { Readable } from 'node:stream';
import { AUDIO_DEBUG, type Logger } from '../../log';
import type { AudioChunk } from '../../playback';
import { OggOpusJoiner, type AppendCounts } from './ogg-opus-stream';

/**
 * Runs page-producing steps of every request feed in the process a little at
 * a time: at most `budgetMs` of them per turn of the event loop, round-robin
 * across feeds, then it yields (setImmediate). The Discord audio cycle runs
 * on the same event loop every 20 ms, so joining a request's chunks must
 * never hold the loop for long, however many requests start at once.
 * The budget is CPU time on the monotonic clock, not station time.
 */
export class PageScheduler {
  readonly #budgetMs: number;
  readonly #queue: (() => boolean)[] = [];
  #scheduled = false;
  /** Longest single run (ms), for benchmarks. */
  longestRunMs = 0;

  constructor(budgetMs = 0.5) {
    this.#budgetMs = budgetMs;
  }

  /** Runs `step` soon; it is run again (after the others) for as long as it returns true. */
  enqueue(step: () => boolean): void {
    this.#queue.push(step);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#run);
    }
  }

  readonly #run = (): void => {
    this.#scheduled = false;
    const start = performance.now();
    let now = start;
    while (this.#queue.length > 0 && now - start < this.#budgetMs) {
      const step = this.#queue.shift() as () => boolean;
      if (step()) this.#queue.push(step);
      now = performance.now();
    }
    this.longestRunMs = Math.max(this.longestRunMs, now - start);
    if (this.#queue.length > 0) {
      this.#scheduled = true;
      setImmediate(this.#run);
    }
  };
}

/** The scheduler feeds share unless given their own (its `longestRunMs` is read by the voice bench). */
export const defaultPageScheduler = new PageScheduler();

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
  /** Where page production runs (default: one scheduler for the whole process). */
  scheduler?: PageScheduler;
}

/** A chunk queued for the stream, with its bytes once loaded. */
interface Pending {
  chunk: AudioChunk;
  skipMs: number;
  bytes: Buffer | null;
  error: unknown;
}

/** A few pages: enough to keep the demuxer busy, little enough that nothing is paged long before it airs. */
const STREAM_HIGH_WATER_MARK = 8 * 1024;

/**
 * The continuous Ogg Opus stream of one request, fed to ONE AudioResource.
 * Chunks are queued as soon as they exist, so the player reads from chunk to
 * chunk with no Idle and no gap. Bytes load in parallel but are written
 * strictly in sequence order. Pages are produced as the player reads, one
 * page (about a second of audio) per step on the {@link PageScheduler}: a
 * request starting, or a long request queued whole, costs the event loop
 * well under a millisecond at a time.
 */
export class RequestFeed {
  readonly requestId: string;
  readonly stream: Readable;
  readonly #joiner = new OggOpusJoiner();
  readonly #options: RequestFeedOptions;
  readonly #scheduler: PageScheduler;
  readonly #queue: Pending[] = [];
  /** The chunk being paged and its remaining pages. */
  #current: { chunk: AudioChunk; pages: Generator<Buffer, AppendCounts, void> } | null = null;
  #nextSeq: number;
  #firstOffsetMs: number;
  #written: number[] = [];
  /** The stream asked for more and has not been refused since. */
  #wanted = false;
  /** A step is on the scheduler. */
  #stepQueued = false;
  #finished = false;
  #ended = false;
  #destroyed = false;
  #flushWaiters: (() => void)[] = [];

  constructor(options: RequestFeedOptions) {
    this.requestId = options.requestId;
    this.#options = options;
    this.#scheduler = options.scheduler ?? defaultPageScheduler;
    this.#nextSeq = options.startIndex;
    this.#firstOffsetMs = options.offsetMs;
    this.stream = new Readable({
      highWaterMark: STREAM_HIGH_WATER_MARK,
      read: () => {
        this.#wanted = true;
        this.#schedule();
      },
    });
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

  /** Queues every chunk from the next expected sequence number on that exists in `chunks`. */
  pump(chunks: readonly (AudioChunk | undefined)[]): void {
    if (this.#finished || this.#destroyed) return;
    for (let chunk = chunks[this.#nextSeq]; chunk; chunk = chunks[this.#nextSeq]) {
      this.#nextSeq++;
      const pending: Pending = { chunk, skipMs: this.#firstOffsetMs, bytes: null, error: null };
      this.#firstOffsetMs = 0;
      this.#queue.push(pending);
      this.#options.load(chunk).then(
        (bytes) => {
          pending.bytes = bytes;
          this.#schedule();
        },
        (err: unknown) => {
          pending.error = err ?? new Error('load failed');
          this.#schedule();
        },
      );
    }
  }

  /** No more chunks: the stream ends after those already queued (the player drains it). */
  finish(): void {
    if (this.#finished || this.#destroyed) return;
    this.#finished = true;
    this.#schedule();
  }

  /** Drops everything at once (skip/stop). */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#queue.length = 0;
    this.#current = null;
    this.stream.destroy();
    this.#settleFlushed();
  }

  /** Resolves once everything queued so far is in the stream (or the feed is destroyed). */
  flushed(): Promise<void> {
    if (this.#idle()) return Promise.resolve();
    return new Promise((resolve) => this.#flushWaiters.push(resolve));
  }

  #idle(): boolean {
    return this.#destroyed || (this.#current === null && this.#queue.length === 0);
  }

  /** Can a step do something now? */
  #ready(): boolean {
    if (this.#destroyed || this.#ended) return false;
    if (this.#current || this.#queue[0]?.error) return this.#wanted;
    const head = this.#queue[0];
    if (head) return head.bytes !== null && this.#wanted;
    return this.#finished; // the end can go out whether or not more was asked for
  }

  #schedule(): void {
    if (this.#stepQueued || !this.#ready()) return;
    this.#stepQueued = true;
    this.#scheduler.enqueue(this.#step);
  }

  /** Writes one page (or skips a bad chunk, or ends the stream); true while there is more to do now. */
  readonly #step = (): boolean => {
    if (!this.#ready()) {
      this.#stepQueued = false;
      return false;
    }
    if (!this.#current) {
      const head = this.#queue.shift();
      if (!head) {
        this.#ended = true;
        this.#stepQueued = false;
        this.stream.push(null);
        return false;
      }
      if (head.error) {
        this.#skipped(head.chunk, head.error);
      } else {
        this.#current = {
          chunk: head.chunk,
          pages: this.#joiner.pages(head.bytes as Buffer, { skipMs: head.skipMs }),
        };
      }
    }
    const current = this.#current;
    if (current) {
      try {
        const r = current.pages.next();
        if (r.done) {
          this.#current = null;
          this.#written.push(current.chunk.sequenceNumber);
        } else {
          this.#wanted = this.stream.push(r.value);
        }
      } catch (err) {
        this.#current = null;
        this.#skipped(current.chunk, err);
      }
    }
    if (this.#idle()) this.#settleFlushed();
    const more = this.#ready();
    if (!more) this.#stepQueued = false;
    return more;
  };

  /** One unreadable chunk costs its sentence, not the whole request. */
  #skipped(chunk: AudioChunk, err: unknown): void {
    this.#options.log.warn(
      { err, request: this.requestId, chunk: chunk.id, seq: chunk.sequenceNumber },
      `${AUDIO_DEBUG} voice: chunk audio unreadable; skipped`,
    );
  }

  #settleFlushed(): void {
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    for (const w of waiters) w();
  }
}
