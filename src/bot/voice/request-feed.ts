import { Readable } from 'node:stream';
import type { Clock } from '../../clock';
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
  /** Longest single run (ms of wall time, preemption and GC included), for benchmarks. */
  longestRunMs = 0;
  /** Longest single run in CPU time of this thread (ms), for benchmarks; 0 where Node can't tell. */
  longestRunCpuMs = 0;

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
    const cpu0 = threadCpuMicros();
    const start = performance.now();
    let now = start;
    while (this.#queue.length > 0 && now - start < this.#budgetMs) {
      const step = this.#queue.shift() as () => boolean;
      if (step()) this.#queue.push(step);
      now = performance.now();
    }
    this.longestRunMs = Math.max(this.longestRunMs, now - start);
    this.longestRunCpuMs = Math.max(this.longestRunCpuMs, (threadCpuMicros() - cpu0) / 1000);
    if (this.#queue.length > 0) {
      this.#scheduled = true;
      setImmediate(this.#run);
    }
  };
}

/** CPU time of the calling thread in µs (`process.threadCpuUsage`, Node ≥ 22.19), or 0. */
function threadCpuMicros(): number {
  const usage = (process as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
  if (!usage) return 0;
  const u = usage.call(process);
  return u.user + u.system;
}

/** The scheduler feeds share unless given their own (its `longestRunMs` is read by the voice bench). */
export const defaultPageScheduler = new PageScheduler();

/** Options for {@link RequestFeed}. */
export interface RequestFeedOptions {
  requestId: string;
  /** Sequence number of the first chunk to air. */
  startIndex: number;
  /** Station clock time at which that chunk starts (in the past for a late start after a (re)join). */
  startsAt: number;
  clock: Clock;
  /**
   * From writing a packet into a stream the player has run dry of to Discord
   * receiving it (default {@link PLAYER_LEAD_MS}).
   */
  leadMs?: number;
  /** Reads a chunk's Ogg Opus bytes (prefetched when possible). */
  load(chunk: AudioChunk): Promise<Buffer>;
  log: Logger;
  /** Where page production runs (default: one scheduler for the whole process). */
  scheduler?: PageScheduler;
}

/** A chunk queued for the stream, with its bytes once loaded. */
interface Pending {
  chunk: AudioChunk;
  bytes: Buffer | null;
  error: unknown;
}

/**
 * From paging a packet into a stream the player has run dry of to Discord
 * receiving it: the player reads on its next 20 ms cycle (a new request's
 * first page arrives after the `play` cycle, on the page scheduler's turn)
 * and sends on the one after: 20–40 ms, 30 in the middle.
 */
export const PLAYER_LEAD_MS = 30;

/** A paged chunk and the station time it starts at. */
interface Placed {
  seq: number;
  startsAt: number;
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
 *
 * The stream follows the station clock, not its own packet count: the player
 * sends one 20 ms packet per cycle, and a chunk's packets last longer than
 * the station counts it (the Opus pre-skip and the last packet's padding), so
 * a plain concatenation falls ~20 ms behind per sentence. Each chunk is
 * therefore cut in at the packet nearest to where the station is when that
 * packet will leave: `leaveAt` tracks when the next paged packet is sent, and
 * the chunk starts `leaveAt − startsAt` into its audio. The error stays within
 * half a packet plus the player's cycle jitter, with no drift.
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
  #written: number[] = [];
  readonly #leadMs: number;
  /** Station start of the next chunk to page, as projected (the end of the previous one). */
  #nextStartsAt: number;
  /** Station starts announced by the station for chunks not yet paged (after an underrun). */
  readonly #announced = new Map<number, number>();
  readonly #placed: Placed[] = [];
  /** Clock time at which the next paged packet will be sent; null before the first. */
  #leaveAt: number | null = null;
  #pausedAt: number | null = null;
  /** The pause is a hold behind the previous request's tail (see {@link hold}). */
  #holding = false;
  /** Time held before the first page was placed. */
  #heldMs = 0;
  /** When the player started on this stream (before its first page), see {@link playing}. */
  #playAt: number | null = null;
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
    this.#leadMs = options.leadMs ?? PLAYER_LEAD_MS;
    this.#nextStartsAt = options.startsAt;
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
      const pending: Pending = { chunk, bytes: null, error: null };
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

  /**
   * The station started chunk `seq` at `startsAt`. Usually what was
   * projected; after an underrun or a resume it moves the chunks after it.
   */
  chunkStarted(seq: number, startsAt: number): void {
    const last = this.#placed.at(-1);
    if (!last || seq > last.seq) {
      this.#announced.set(seq, startsAt);
      return;
    }
    const i = this.#placed.findIndex((p) => p.seq === seq);
    if (i < 0) return;
    const delta = startsAt - (this.#placed[i] as Placed).startsAt;
    this.#placed.splice(0, i); // earlier chunks are over
    if (delta === 0) return;
    for (const p of this.#placed) p.startsAt += delta;
    this.#nextStartsAt += delta;
  }

  /** The player paused (station paused, or held behind the previous request's tail). */
  pause(at: number = this.#options.clock.now()): void {
    this.#pausedAt ??= at;
  }

  /**
   * The player was told to play this stream at `at`. Its 20 ms cycle is
   * scheduled from then: if paging comes late (a busy event loop), the
   * player sends the backlog in a burst to catch up, so the first packet's
   * slot is counted from here, not from when it was paged.
   */
  playing(at: number = this.#options.clock.now()): void {
    if (this.#leaveAt === null && this.#pausedAt === null) this.#playAt ??= at;
  }

  /**
   * Held behind the previous request's tail: the station started this one,
   * the player reads it only once the tail is out ({@link resume}). Its
   * first chunk starts from the same word whether its first page was paged
   * during the hold or only after it (bytes still loading): the held time
   * is not cut from it. (A station pause, by contrast, moves the station's
   * own start, announced with {@link chunkStarted}.)
   */
  hold(at: number = this.#options.clock.now()): void {
    this.pause(at);
    this.#holding = true;
  }

  /** The player plays again: what was buffered leaves that much later. */
  resume(at: number = this.#options.clock.now()): void {
    const since = this.#pausedAt;
    const holding = this.#holding;
    this.#holding = false;
    if (since === null) return;
    this.#pausedAt = null;
    if (this.#leaveAt === null) {
      if (holding) this.#heldMs += at - since;
      if (this.#playAt !== null) this.#playAt += at - since;
    } else if (this.#leaveAt > since) {
      this.#leaveAt += at - since;
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
          pages: this.#joiner.pages(head.bytes as Buffer, { skipMs: this.#place(head.chunk) }),
        };
      }
    }
    const current = this.#current;
    if (current) {
      try {
        const r = current.pages.next();
        if (r.done) {
          this.#current = null;
          this.#leaveAt = (this.#leaveAt ?? 0) + r.value.samples / 48;
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

  /**
   * Where `chunk` starts on the station, and so how far into it the next
   * packet to leave must be (ms; negative: not yet there, nothing dropped).
   */
  #place(chunk: AudioChunk): number {
    const seq = chunk.sequenceNumber;
    const startsAt = this.#announced.get(seq) ?? this.#nextStartsAt;
    this.#announced.delete(seq);
    this.#nextStartsAt = startsAt + chunk.durationMs;
    this.#placed.push({ seq, startsAt });
    // A stream that ran dry (first chunk, underrun): the player sends what is paged now a lead later.
    const from =
      this.#pausedAt ?? (this.#leaveAt === null ? this.#playAt : null) ?? this.#options.clock.now();
    const earliest = from + this.#leadMs;
    const held = this.#leaveAt === null ? this.#heldMs : 0;
    if (this.#leaveAt === null || this.#leaveAt < earliest) this.#leaveAt = earliest;
    return this.#leaveAt - held - startsAt;
  }

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
