/**
 * Plays the station with Web Audio at the station's own times. Each
 * `station_schedule` is reconciled against what is already scheduled: new
 * entries are fetched, decoded, trimmed to their exact duration and started
 * at the context time matching `starts_at`; vanished or changed entries stop.
 * Consecutive chunks of a request are chained sample-exactly instead of being
 * mapped one by one, so clock jitter never opens a gap or an overlap between
 * them.
 *
 * Web Audio stays behind the {@link AudioOutput} seam; the decisions
 * ({@link planReconcile}, {@link placeChunk}, the trim) are pure functions.
 */
import { Emitter } from './emitter';
import { computeTrim, readMp3Gapless, type Trim } from './gapless';
import type { ScheduleEntry } from './protocol';
import { serverToContextTime, type OutputTimestamp, type TimeMapping } from './timeline';

/** The part of an `AudioBuffer` the scheduler reads. */
export interface PlayableBuffer {
  readonly length: number;
  readonly sampleRate: number;
}

/** A started source. */
export interface PlayingSource {
  /** Stops now (with a short fade so it does not click), or cancels a future start. */
  stop(): void;
}

/** The audio seam: an AudioContext and its output graph. */
export interface AudioOutput<B extends PlayableBuffer = PlayableBuffer> {
  readonly sampleRate: number;
  /** The context's `currentTime` (what it renders next). */
  readonly currentTime: number;
  outputTimestamp(): OutputTimestamp;
  /** Context time being heard right now. */
  heardTime(): number;
  /** `decodeAudioData`; may detach `bytes`. */
  decode(bytes: ArrayBuffer): Promise<B>;
  /** Frames `[start, start + count)` of `buffer`, zero-filled past its end. */
  slice(buffer: B, startFrame: number, frameCount: number): B;
  /** Plays `buffer` from `offset` s at context time `when`; `onEnded` fires once it stops, however. */
  play(buffer: B, when: number, offset: number, onEnded: () => void): PlayingSource;
}

/** The part of a station schedule that drives playback. */
export interface ScheduleView {
  paused: boolean;
  entries: readonly ScheduleEntry[];
}

/** What {@link planReconcile} decides. */
export interface ReconcilePlan {
  /** Chunk ids to stop (including ones to restart with a new time). */
  stop: string[];
  /** Entries to (re)start, by `starts_at`. */
  start: ScheduleEntry[];
  /** Chunk ids that finished and left the schedule: forget them. */
  forget: string[];
}

/** One chunk the scheduler knows about, as {@link planReconcile} sees it. */
export interface KnownChunk {
  entry: ScheduleEntry;
  /** Played to its end (or missed): never restart with the same time. */
  done: boolean;
}

/** Finished chunks are forgotten this long after their end. */
const FORGET_AFTER_MS = 5000;

/** Start times closer than this are the same (server ms may be rounded). */
const SAME_START_MS = 2;

function sameTiming(a: ScheduleEntry, b: ScheduleEntry): boolean {
  return (
    Math.abs(a.starts_at - b.starts_at) <= SAME_START_MS &&
    Math.abs(a.duration_sec - b.duration_sec) < 1e-6 &&
    a.url === b.url
  );
}

/** End of an entry in server ms. */
export function entryEnd(entry: ScheduleEntry): number {
  return entry.starts_at + entry.duration_sec * 1000;
}

/**
 * Compares a new schedule with what is known. Paused: everything stops.
 * Otherwise chunks that left the schedule stop, chunks whose timing changed
 * restart, and new chunks that have not ended yet start.
 */
export function planReconcile(
  known: ReadonlyMap<string, KnownChunk>,
  schedule: ScheduleView,
  serverNowMs: number,
): ReconcilePlan {
  const plan: ReconcilePlan = { stop: [], start: [], forget: [] };
  const entries = schedule.paused ? [] : schedule.entries;
  const byId = new Map(entries.map((e) => [e.chunk_id, e]));
  for (const [id, chunk] of known) {
    const next = byId.get(id);
    if (next && sameTiming(next, chunk.entry)) continue;
    if (chunk.done) plan.forget.push(id);
    else plan.stop.push(id);
    if (next && entryEnd(next) > serverNowMs) plan.start.push(next);
  }
  for (const entry of entries) {
    if (!known.has(entry.chunk_id) && entryEnd(entry) > serverNowMs) plan.start.push(entry);
  }
  plan.start.sort((a, b) => a.starts_at - b.starts_at || a.sequence_number - b.sequence_number);
  return plan;
}

/**
 * The schedule to keep playing while the server cannot be heard from
 * (disconnected, or the link refused): at most the chunk being sounded,
 * with its timing unchanged so it plays on to its end; nothing after it.
 * Running ahead on the last schedule would play what the station may never
 * air (a server that crashed resumes at its first unplayed chunk), then
 * repeat it after reconnecting.
 */
export function holdSchedule(schedule: ScheduleView, soundingChunkId: string | null): ScheduleView {
  return {
    paused: schedule.paused,
    entries: schedule.entries.filter((e) => e.chunk_id === soundingChunkId),
  };
}

/** Where a chunk's sample 0 sits and how it is started. */
export interface Placement {
  /** Context time of the chunk's first playable sample (may be in the past). */
  origin: number;
  /** Context time passed to `start()`. */
  when: number;
  /** Seconds into the chunk passed to `start()` (late join). */
  offset: number;
  /** True when chained to the previous chunk of the request. */
  joined: boolean;
}

/** The chunk before, when it is scheduled. */
export interface PreviousChunk {
  origin: number;
  frames: number;
  /** Its end in server ms (`starts_at + duration`). */
  endsAt: number;
}

/** Input of {@link placeChunk}. */
export interface PlaceInput {
  entry: ScheduleEntry;
  frames: number;
  sampleRate: number;
  /** Context time of `entry.starts_at` per the current mapping. */
  mappedOrigin: number;
  currentTime: number;
  previous: PreviousChunk | null;
  /** How far ahead of `currentTime` a start must be to be on time. Default 0.04 s. */
  leadSec?: number;
  /** The previous chunk must end within this of `starts_at` to be chained. Default 3 ms. */
  joinToleranceMs?: number;
  /** Chaining may drift this far from the mapping before re-anchoring. Default 0.03 s. */
  maxJoinDriftSec?: number;
}

/**
 * Decides when a chunk starts. Chained to the previous chunk when the station
 * plays them back to back (same sample clock, no jitter), otherwise anchored
 * at the mapped time, snapped to a whole frame. A start already in the past
 * becomes a later start with an offset into the chunk (late join). Null when
 * the chunk is over.
 */
export function placeChunk(input: PlaceInput): Placement | null {
  const { sampleRate, frames, previous } = input;
  let origin = Math.round(input.mappedOrigin * sampleRate) / sampleRate;
  let joined = false;
  if (previous && Math.abs(previous.endsAt - input.entry.starts_at) <= (input.joinToleranceMs ?? 3)) {
    const chained = previous.origin + previous.frames / sampleRate;
    if (Math.abs(chained - input.mappedOrigin) <= (input.maxJoinDriftSec ?? 0.03)) {
      origin = chained;
      joined = true;
    }
  }
  const earliest = input.currentTime + (input.leadSec ?? 0.04);
  if (origin >= earliest) return { origin, when: origin, offset: 0, joined };
  const offset = earliest - origin;
  if (offset >= frames / sampleRate) return null;
  return { origin, when: earliest, offset, joined };
}

/** Lifecycle of one scheduled chunk. */
export enum ChunkPlayStatus {
  Loading = 'loading',
  Scheduled = 'scheduled',
  Done = 'done',
  Missed = 'missed',
  Failed = 'failed',
}

/** One chunk as the debug hook and the UI see it. */
export interface ScheduledChunkInfo {
  chunk_id: string;
  request_id: string;
  sequence_number: number;
  /** Null for a player until the chunk airs. */
  text: string | null;
  starts_at: number;
  duration_sec: number;
  status: ChunkPlayStatus;
  /** Context times, once scheduled. */
  origin?: number;
  when?: number;
  offset?: number;
  frames?: number;
  joined?: boolean;
  behaviour?: Trim['behaviour'];
}

interface Item {
  entry: ScheduleEntry;
  status: ChunkPlayStatus;
  cancelled: boolean;
  cancel: () => void;
  cancelledPromise: Promise<never>;
  source?: PlayingSource;
  placement?: Placement;
  frames?: number;
  sampleRate?: number;
  behaviour?: Trim['behaviour'];
}

/** Dependencies of {@link StationScheduler}. */
export interface SchedulerDeps<B extends PlayableBuffer> {
  output: AudioOutput<B>;
  /** Fetches a chunk's MP3. */
  loadBytes(entry: ScheduleEntry): Promise<ArrayBuffer>;
  /** Current server↔local mapping; null before the clock is estimated. */
  mapping(): TimeMapping | null;
  serverNow(): number;
  /** Decoded chunks kept for a resume or a resync. Default 12. */
  maxCachedBuffers?: number;
  leadSec?: number;
}

/** Events of {@link StationScheduler}. */
export type SchedulerEvents = {
  /** A chunk played to its end. */
  played: [entry: ScheduleEntry];
  /** A chunk could not be fetched or decoded. */
  failed: [entry: ScheduleEntry, error: unknown];
};

/** A decoded chunk, trimmed to its exact duration. */
interface Prepared<B> {
  buffer: B;
  behaviour: Trim['behaviour'];
}

/** Reconciles station schedules into Web Audio sources. */
export class StationScheduler<B extends PlayableBuffer> extends Emitter<SchedulerEvents> {
  readonly #deps: SchedulerDeps<B>;
  readonly #items = new Map<string, Item>();
  readonly #prepared = new Map<string, Promise<Prepared<B>>>();
  #tail: Promise<void> = Promise.resolve();
  #schedule: ScheduleView | null = null;

  constructor(deps: SchedulerDeps<B>) {
    super();
    this.#deps = deps;
  }

  /** Applies a new schedule (kept, and applied once the clock is known). */
  reconcile(schedule: ScheduleView): void {
    this.#schedule = schedule;
    if (!this.#deps.mapping()) return;
    const known = new Map(
      [...this.#items].map(([id, item]) => [id, { entry: item.entry, done: isOver(item) }]),
    );
    const now = this.#deps.serverNow();
    const plan = planReconcile(known, schedule, now);
    for (const id of plan.stop) this.#stop(id);
    for (const id of plan.forget) this.#items.delete(id);
    // Long requests must not pile up finished chunks; an ended entry is never restarted anyway.
    for (const [id, item] of this.#items) {
      if (isOver(item) && entryEnd(item.entry) < now - FORGET_AFTER_MS) this.#items.delete(id);
    }
    for (const entry of plan.start) this.#start(entry);
    this.#evictPrepared();
  }

  /** Stops everything and schedules the last schedule afresh (after a clock jump). */
  resync(): void {
    for (const id of [...this.#items.keys()]) this.#stop(id);
    this.#items.clear();
    if (this.#schedule) this.reconcile(this.#schedule);
  }

  /** Stops everything and forgets the schedule. */
  stopAll(): void {
    for (const id of [...this.#items.keys()]) this.#stop(id);
    this.#items.clear();
    this.#schedule = null;
  }

  /** Starts fetching and decoding a chunk before it is scheduled. */
  prefetch(entry: ScheduleEntry): void {
    this.#prepare(entry).catch(() => undefined);
    this.#evictPrepared();
  }

  /** Every chunk known, for the debug hook. */
  chunks(): ScheduledChunkInfo[] {
    return [...this.#items.values()].map((item) => {
      const info: ScheduledChunkInfo = {
        chunk_id: item.entry.chunk_id,
        request_id: item.entry.request_id,
        sequence_number: item.entry.sequence_number,
        text: item.entry.text,
        starts_at: item.entry.starts_at,
        duration_sec: item.entry.duration_sec,
        status: item.status,
      };
      if (item.placement) Object.assign(info, item.placement);
      if (item.frames !== undefined) info.frames = item.frames;
      if (item.behaviour) info.behaviour = item.behaviour;
      return info;
    });
  }

  /**
   * The chunk heard at context time `t` and the seconds into it, or null in
   * a gap. Read from what was actually started, not from the schedule.
   */
  audibleAt(t: number): { entry: ScheduleEntry; positionSec: number } | null {
    for (const item of this.#items.values()) {
      const p = item.placement;
      if (!p || item.frames === undefined || item.sampleRate === undefined || item.cancelled) continue;
      const end = p.origin + item.frames / item.sampleRate;
      if (t >= p.when && t < end) return { entry: item.entry, positionSec: t - p.origin };
    }
    return null;
  }

  /**
   * How far (s) the chunk being heard sits from where the current mapping
   * puts it (positive: late). Null when nothing is heard or no mapping.
   */
  driftSec(): number | null {
    const mapping = this.#deps.mapping();
    if (!mapping) return null;
    const heard = this.audibleAt(this.#deps.output.heardTime());
    const item = heard && this.#items.get(heard.entry.chunk_id);
    if (!item?.placement) return null;
    return item.placement.origin - serverToContextTime(item.entry.starts_at, mapping);
  }

  #start(entry: ScheduleEntry): void {
    let cancel!: () => void;
    const cancelledPromise = new Promise<never>((_, reject) => {
      cancel = () => reject(new Error('cancelled'));
    });
    cancelledPromise.catch(() => undefined);
    const item: Item = { entry, status: ChunkPlayStatus.Loading, cancelled: false, cancel, cancelledPromise };
    this.#items.set(entry.chunk_id, item);
    const previous = this.#tail;
    // Loading runs in parallel; placing runs in schedule order, so a chunk is
    // placed after the one it may be chained to.
    this.#tail = (async () => {
      let prepared: Prepared<B>;
      try {
        prepared = await Promise.race([this.#prepare(entry), cancelledPromise]);
      } catch (error) {
        if (!item.cancelled) {
          item.status = ChunkPlayStatus.Failed;
          // Forgotten, so the next schedule tries again if it is still on time.
          if (this.#items.get(entry.chunk_id) === item) this.#items.delete(entry.chunk_id);
          this.emit('failed', entry, error);
        }
        return;
      }
      await Promise.race([previous, cancelledPromise]).catch(() => undefined);
      if (!item.cancelled) this.#place(item, prepared);
    })();
  }

  #place(item: Item, prepared: Prepared<B>): void {
    const mapping = this.#deps.mapping();
    if (!mapping) {
      // Cannot happen once the clock is known; if it does, let the next schedule retry.
      if (this.#items.get(item.entry.chunk_id) === item) this.#items.delete(item.entry.chunk_id);
      return;
    }
    const { output } = this.#deps;
    const { buffer } = prepared;
    item.frames = buffer.length;
    item.sampleRate = buffer.sampleRate;
    item.behaviour = prepared.behaviour;
    const placement = placeChunk({
      entry: item.entry,
      frames: buffer.length,
      sampleRate: buffer.sampleRate,
      mappedOrigin: serverToContextTime(item.entry.starts_at, mapping),
      currentTime: output.currentTime,
      previous: this.#previousOf(item.entry),
      ...(this.#deps.leadSec !== undefined ? { leadSec: this.#deps.leadSec } : {}),
    });
    if (!placement) {
      item.status = ChunkPlayStatus.Missed;
      return;
    }
    item.placement = placement;
    item.status = ChunkPlayStatus.Scheduled;
    item.source = output.play(buffer, placement.when, placement.offset, () => this.#ended(item));
  }

  #previousOf(entry: ScheduleEntry): PreviousChunk | null {
    for (const item of this.#items.values()) {
      if (
        item.entry.request_id === entry.request_id &&
        item.entry.sequence_number === entry.sequence_number - 1 &&
        !item.cancelled &&
        item.status !== ChunkPlayStatus.Missed &&
        item.placement &&
        item.frames !== undefined
      ) {
        return { origin: item.placement.origin, frames: item.frames, endsAt: entryEnd(item.entry) };
      }
    }
    return null;
  }

  #ended(item: Item): void {
    if (item.cancelled || item.status !== ChunkPlayStatus.Scheduled) return;
    item.status = ChunkPlayStatus.Done;
    delete item.source;
    // Played through: its decoded audio is not needed again.
    this.#prepared.delete(item.entry.chunk_id);
    this.emit('played', item.entry);
  }

  #stop(id: string): void {
    const item = this.#items.get(id);
    if (!item) return;
    item.cancelled = true;
    item.cancel();
    item.source?.stop();
    this.#items.delete(id);
  }

  #prepare(entry: ScheduleEntry): Promise<Prepared<B>> {
    const cached = this.#prepared.get(entry.chunk_id);
    if (cached) {
      // Most recently used last, for eviction.
      this.#prepared.delete(entry.chunk_id);
      this.#prepared.set(entry.chunk_id, cached);
      return cached;
    }
    const { output } = this.#deps;
    const promise = (async () => {
      const bytes = await this.#deps.loadBytes(entry);
      // Read the LAME tag before decoding: decodeAudioData detaches the bytes.
      const mp3 = readMp3Gapless(new Uint8Array(bytes));
      const decoded = await output.decode(bytes);
      const trim = computeTrim({
        decodedFrames: decoded.length,
        contextRate: decoded.sampleRate,
        durationSec: entry.duration_sec,
        mp3,
      });
      return { buffer: output.slice(decoded, trim.startFrame, trim.frameCount), behaviour: trim.behaviour };
    })();
    this.#prepared.set(entry.chunk_id, promise);
    promise.catch(() => {
      if (this.#prepared.get(entry.chunk_id) === promise) this.#prepared.delete(entry.chunk_id);
    });
    return promise;
  }

  /** Bounds memory: drops the least recently used decoded chunks no live item needs. */
  #evictPrepared(): void {
    const max = this.#deps.maxCachedBuffers ?? 12;
    for (const id of [...this.#prepared.keys()]) {
      if (this.#prepared.size <= max) break;
      const item = this.#items.get(id);
      if (item && (item.status === ChunkPlayStatus.Loading || item.status === ChunkPlayStatus.Scheduled))
        continue;
      this.#prepared.delete(id);
    }
  }
}

function isOver(item: { status: ChunkPlayStatus }): boolean {
  return item.status === ChunkPlayStatus.Done || item.status === ChunkPlayStatus.Missed;
}
