import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../clock';
import { AUDIO_DEBUG, type Logger } from '../log';
import type { PlaybackMetrics } from './metrics';
import type { PlaybackRepository, WriteOp } from './repository';
import {
  StationStatus,
  type ControlResult,
  type EndReason,
  type NowPlaying,
  type PausedFrom,
  type QueueEntry,
  type ScheduleEntry,
  type StationEvents,
  type StationState,
} from './station-types';
import { transitionChunk, transitionGeneration, transitionRequest } from './transitions';
import {
  ChunkStatus,
  GenerationStatus,
  RequestStatus,
  type AudioChunk,
  type FinalRequestStatus,
  type PlaybackRequest,
} from './types';

/** Options for {@link Station}. */
export interface StationOptions {
  campaignId: string;
  clock: Clock;
  log: Logger;
  repository: PlaybackRepository;
  metrics?: PlaybackMetrics | undefined;
  /** Silence between two requests (DESIGN.md rule 4). */
  gapMs?: number;
  /** No progress for this long fails the waiting request (rule 5). */
  stallTimeoutMs?: number;
}

/**
 * One campaign's scheduler and its only clock (DESIGN.md rules 1–5). Requests
 * air in queue order, chunks in sequence order, back to back by their exact
 * encoded durations. Client ACKs never reach it; only time and the DM do.
 *
 * State changes only through {@link Station.state}'s setter, which emits
 * `stateChange`; request and chunk statuses change only through
 * `transitions.ts`, called from `#setRequestStatus` / `#setChunkStatus`.
 */
export class Station extends EventEmitter<StationEvents> {
  readonly campaignId: string;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #repo: PlaybackRepository;
  readonly #metrics: PlaybackMetrics | undefined;
  readonly #gapMs: number;
  readonly #stallMs: number;
  /** Requests not yet final, in queue order; the on-air one (if any) is first. */
  readonly #queue: QueueEntry[] = [];
  #state: StationState = { status: StationStatus.Idle };
  #timer: TimerHandle | null = null;
  #stallTimer: TimerHandle | null = null;
  #destroyed = false;

  constructor(options: StationOptions) {
    super();
    this.campaignId = options.campaignId;
    this.#clock = options.clock;
    this.#log = options.log.child({ campaign: options.campaignId });
    this.#repo = options.repository;
    this.#metrics = options.metrics;
    this.#gapMs = options.gapMs ?? 400;
    this.#stallMs = options.stallTimeoutMs ?? 180_000;
  }

  get state(): StationState {
    return this.#state;
  }

  set state(next: StationState) {
    const old = this.#state;
    this.#state = next;
    if (old.status !== next.status) {
      this.#log.debug({ from: old.status, to: next.status }, `${AUDIO_DEBUG} station state`);
    }
    this.emit('stateChange', old, next);
  }

  // ── Inputs from the writer ─────────────────────────────────────────────

  /** Adds a stored request (PENDING, or PLAYING when recovered after a restart) to the queue. */
  enqueue(request: PlaybackRequest, chunks: AudioChunk[] = [], receivedAt = this.#clock.now()): void {
    const entry: QueueEntry = { request, chunks: [], lastProgressAt: this.#clock.now(), receivedAt };
    for (const c of chunks) entry.chunks[c.sequenceNumber] = c;
    // A recovered on-air request goes back to the head of the queue.
    if (request.status === RequestStatus.Playing) this.#queue.unshift(entry);
    else this.#queue.push(entry);
    this.emit('queueChanged', { campaignId: this.campaignId });
    if (this.#state.status === StationStatus.Idle) this.#tryStart();
  }

  /** A stored chunk of a queued request (the writer delivers them in sequence order). */
  chunkAdded(chunk: AudioChunk): void {
    const entry = this.#find(chunk.requestId);
    if (!entry) return;
    entry.chunks[chunk.sequenceNumber] = chunk;
    entry.lastProgressAt = this.#clock.now();
    this.emit('chunkReady', { campaignId: this.campaignId, request: entry.request, chunk });
    const s = this.#state;
    if (s.status === StationStatus.Idle) {
      this.#tryStart();
    } else if (
      s.status === StationStatus.Underrun &&
      s.entry === entry &&
      s.nextIndex === chunk.sequenceNumber
    ) {
      this.#startChunk(entry, chunk.sequenceNumber, this.#clock.now());
    } else if (s.status === StationStatus.OnAir && s.entry === entry) {
      this.emit('scheduleChanged', { campaignId: this.campaignId });
    } else if (s.status === StationStatus.Underrun && s.entry === entry) {
      this.#armStall(entry);
    }
    this.emit('queueChanged', { campaignId: this.campaignId });
  }

  /** The writer recorded a generation change (GENERATED with total, or FAILED). */
  generationChanged(requestId: string): void {
    const entry = this.#find(requestId);
    if (!entry) return;
    const s = this.#state;
    const failed = entry.request.generation === GenerationStatus.Failed;
    const onAir = this.#onAirEntry() === entry;
    if (s.status === StationStatus.Underrun && s.entry === entry) {
      if (failed) this.#endOnAir(entry, RequestStatus.Failed, 'failed', this.#clock.now());
      else if (entry.request.totalChunks === s.nextIndex) {
        this.#endOnAir(entry, RequestStatus.Played, 'played', s.since);
      }
    } else if (failed && !onAir && !this.#isPausedOn(entry)) {
      this.#endQueued(entry, RequestStatus.Failed, 'failed');
      if (this.#state.status === StationStatus.Idle) this.#tryStart();
    }
    // An on-air request that failed plays what it has, then ends FAILED at its last chunk.
    this.emit('queueChanged', { campaignId: this.campaignId });
  }

  // ── DM controls ────────────────────────────────────────────────────────

  /** Cancels the on-air request (or the head request still waiting for audio). */
  skip(): ControlResult {
    const s = this.#state;
    if (s.status === StationStatus.Paused) {
      const entry = 'entry' in s.resume ? s.resume.entry : undefined;
      if (!entry) return { ok: false, reason: 'nothing_on_air' };
      this.#finishRequest(entry, RequestStatus.Cancelled, 'skipped', true);
      this.state = {
        status: StationStatus.Paused,
        pausedAt: s.pausedAt,
        resume: { status: StationStatus.Idle },
      };
      this.emit('scheduleChanged', { campaignId: this.campaignId });
      return { ok: true, request: entry.request };
    }
    const entry = this.#onAirEntry() ?? (s.status === StationStatus.Idle ? this.#queue[0] : undefined);
    if (!entry) return { ok: false, reason: 'nothing_on_air' };
    if (this.#onAirEntry() === entry)
      this.#endOnAir(entry, RequestStatus.Cancelled, 'skipped', this.#clock.now());
    else {
      this.#endQueued(entry, RequestStatus.Cancelled, 'skipped');
      this.#tryStart();
    }
    return { ok: true, request: entry.request };
  }

  /** Cancels the on-air request and clears the queue. */
  stop(): ControlResult {
    if (this.#queue.length === 0) return { ok: false, reason: 'nothing_on_air' };
    const onAir = this.#onAirEntry() ?? this.#pausedEntry();
    this.#clearTimers();
    this.state = { status: StationStatus.Idle };
    let cancelled = 0;
    for (const entry of [...this.#queue]) {
      this.#finishRequest(entry, RequestStatus.Cancelled, 'stopped', entry === onAir);
      cancelled++;
    }
    this.emit('scheduleChanged', { campaignId: this.campaignId });
    return { ok: true, cancelled };
  }

  /** Pauses mid-chunk; {@link resume} continues from the same sample. */
  pause(): ControlResult {
    const s = this.#state;
    if (s.status === StationStatus.Paused) return { ok: false, reason: 'already_paused' };
    // A pause set on an empty station would silently hold every later narration.
    if (s.status === StationStatus.Idle && this.queue().length === 0) {
      return { ok: false, reason: 'nothing_on_air' };
    }
    const now = this.#clock.now();
    let resume: PausedFrom;
    if (s.status === StationStatus.OnAir) {
      resume = {
        status: s.status,
        entry: s.entry,
        chunkIndex: s.chunkIndex,
        offsetMs: now - s.chunkStartedAt,
      };
    } else if (s.status === StationStatus.Underrun) {
      resume = { status: s.status, entry: s.entry, nextIndex: s.nextIndex };
    } else if (s.status === StationStatus.Gap) {
      resume = { status: s.status, remainingMs: Math.max(0, s.until - now) };
    } else {
      resume = { status: StationStatus.Idle };
    }
    this.#clearTimers();
    this.state = { status: StationStatus.Paused, pausedAt: now, resume };
    this.emit('scheduleChanged', { campaignId: this.campaignId });
    return { ok: true };
  }

  /** Continues after {@link pause}. */
  resume(): ControlResult {
    const s = this.#state;
    if (s.status !== StationStatus.Paused) return { ok: false, reason: 'not_paused' };
    const now = this.#clock.now();
    const r = s.resume;
    switch (r.status) {
      case StationStatus.OnAir: {
        r.entry.lastProgressAt = now;
        const chunk = r.entry.chunks[r.chunkIndex] as AudioChunk;
        this.state = {
          status: StationStatus.OnAir,
          entry: r.entry,
          chunkIndex: r.chunkIndex,
          chunkStartedAt: now - r.offsetMs,
        };
        this.#armChunkEnd(chunk, now - r.offsetMs);
        this.emit('chunkStarted', {
          campaignId: this.campaignId,
          request: r.entry.request,
          chunk,
          startsAt: now - r.offsetMs,
        });
        break;
      }
      case StationStatus.Underrun:
        r.entry.lastProgressAt = now;
        if (r.entry.chunks[r.nextIndex]) this.#startChunk(r.entry, r.nextIndex, now);
        else this.#afterChunk(r.entry, r.nextIndex, now);
        break;
      case StationStatus.Gap:
        this.#enterGap(now + r.remainingMs);
        break;
      case StationStatus.Idle:
        this.state = { status: StationStatus.Idle };
        for (const e of this.#queue) e.lastProgressAt = now;
        this.#tryStart();
        break;
    }
    this.emit('scheduleChanged', { campaignId: this.campaignId });
    return { ok: true };
  }

  // ── Queries ────────────────────────────────────────────────────────────

  /** What is on air now, for late joiners; null when nothing is. */
  now(): NowPlaying | null {
    const s = this.#state;
    const now = this.#clock.now();
    if (s.status === StationStatus.OnAir)
      return this.#position(s.entry, s.chunkIndex, now - s.chunkStartedAt, false, false);
    if (s.status === StationStatus.Underrun) return this.#position(s.entry, s.nextIndex, 0, false, true);
    if (s.status === StationStatus.Paused) {
      const r = s.resume;
      if (r.status === StationStatus.OnAir)
        return this.#position(r.entry, r.chunkIndex, r.offsetMs, true, false);
      if (r.status === StationStatus.Underrun) return this.#position(r.entry, r.nextIndex, 0, true, true);
    }
    return null;
  }

  /** Chunks whose start time is decided: the one on air and the generated ones after it. */
  schedule(): ScheduleEntry[] {
    const s = this.#state;
    if (s.status !== StationStatus.OnAir) return [];
    const out: ScheduleEntry[] = [];
    let startsAt = s.chunkStartedAt;
    for (let i = s.chunkIndex; ; i++) {
      const chunk = s.entry.chunks[i];
      if (!chunk) break;
      out.push({ request: s.entry.request, chunk, startsAt });
      startsAt += chunk.durationMs;
    }
    return out;
  }

  /** Requests not yet final, in airing order (the on-air one first). */
  queue(): readonly QueueEntry[] {
    return this.#queue;
  }

  /** Finds a request still in memory (queued or on air). */
  findRequest(requestId: string): QueueEntry | undefined {
    return this.#find(requestId);
  }

  get paused(): boolean {
    return this.#state.status === StationStatus.Paused;
  }

  /** Stops timers; the station no longer advances. */
  destroy(): void {
    this.#destroyed = true;
    this.#clearTimers();
    this.removeAllListeners();
  }

  // ── The timeline ───────────────────────────────────────────────────────

  #tryStart(): void {
    if (this.#destroyed || this.#state.status !== StationStatus.Idle) return;
    while (this.#queue.length > 0) {
      const entry = this.#queue[0] as QueueEntry;
      if (entry.request.generation === GenerationStatus.Failed && !entry.chunks[this.#firstUnplayed(entry)]) {
        this.#endQueued(entry, RequestStatus.Failed, 'failed');
        continue;
      }
      const first = this.#firstUnplayed(entry);
      if (entry.chunks[first]) {
        this.#startRequest(entry, first);
      } else if (entry.request.status === RequestStatus.Playing) {
        // A recovered on-air request whose stored chunks all PLAYED (the crash fell before
        // the next chunk or before the request's own end was written): it ends now if its
        // generation is done, else it is in underrun, waiting for the resumed generation.
        this.#startRequestAt(entry, first);
      } else {
        this.#armStall(entry);
      }
      return;
    }
    this.#disarmStall();
  }

  #startRequest(entry: QueueEntry, index: number): void {
    const now = this.#clock.now();
    const resumed = entry.request.status === RequestStatus.Playing;
    if (!resumed) {
      this.#setRequestStatus(entry, RequestStatus.Playing, now);
      this.#metrics?.timeToFirstAudioSeconds.observe((now - entry.receivedAt) / 1000);
    }
    this.emit('requestStarted', {
      campaignId: this.campaignId,
      request: entry.request,
      startedAt: now,
      resumed,
    });
    this.#startChunk(entry, index, now);
  }

  /** Puts a recovered on-air request back on air at chunk `index`, which is not stored (yet or ever). */
  #startRequestAt(entry: QueueEntry, index: number): void {
    const now = this.#clock.now();
    this.emit('requestStarted', {
      campaignId: this.campaignId,
      request: entry.request,
      startedAt: now,
      resumed: true,
    });
    this.#afterChunk(entry, index, now);
  }

  #startChunk(entry: QueueEntry, index: number, startsAt: number): void {
    const chunk = entry.chunks[index] as AudioChunk;
    this.#disarmStall();
    entry.lastProgressAt = this.#clock.now();
    if (chunk.status === ChunkStatus.Ready) this.#setChunkStatus(chunk, ChunkStatus.Playing, startsAt);
    this.state = { status: StationStatus.OnAir, entry, chunkIndex: index, chunkStartedAt: startsAt };
    this.#armChunkEnd(chunk, startsAt);
    this.emit('chunkStarted', { campaignId: this.campaignId, request: entry.request, chunk, startsAt });
    this.emit('scheduleChanged', { campaignId: this.campaignId });
    this.emit('queueChanged', { campaignId: this.campaignId });
  }

  #armChunkEnd(chunk: AudioChunk, startsAt: number): void {
    const endsAt = startsAt + chunk.durationMs;
    this.#setTimer(endsAt, () => this.#chunkEnded(endsAt));
  }

  #chunkEnded(endsAt: number): void {
    const s = this.#state;
    if (s.status !== StationStatus.OnAir) return;
    const chunk = s.entry.chunks[s.chunkIndex] as AudioChunk;
    this.#setChunkStatus(chunk, ChunkStatus.Played, endsAt);
    this.emit('chunkEnded', { campaignId: this.campaignId, request: s.entry.request, chunk });
    this.#afterChunk(s.entry, s.chunkIndex + 1, endsAt);
  }

  /** Decides what follows once chunk `next - 1` has ended at `at`. */
  #afterChunk(entry: QueueEntry, next: number, at: number): void {
    if (entry.chunks[next]) {
      this.#startChunk(entry, next, at);
      return;
    }
    const { generation, totalChunks } = entry.request;
    if (generation === GenerationStatus.Generated && totalChunks !== null && next >= totalChunks) {
      this.#endOnAir(entry, RequestStatus.Played, 'played', at);
    } else if (generation === GenerationStatus.Failed) {
      this.#endOnAir(entry, RequestStatus.Failed, 'failed', at);
    } else {
      this.#metrics?.stationUnderruns.inc();
      this.#log.debug({ request: entry.request.id, waitingFor: next }, `${AUDIO_DEBUG} underrun`);
      entry.lastProgressAt = Math.max(entry.lastProgressAt, at);
      this.state = { status: StationStatus.Underrun, entry, nextIndex: next, since: at };
      this.#armStall(entry);
      this.emit('scheduleChanged', { campaignId: this.campaignId });
    }
  }

  #endOnAir(entry: QueueEntry, status: FinalRequestStatus, reason: EndReason, at: number): void {
    this.#clearTimers();
    this.#finishRequest(entry, status, reason, true);
    this.#enterGap(at + this.#gapMs);
    this.emit('scheduleChanged', { campaignId: this.campaignId });
  }

  #endQueued(entry: QueueEntry, status: FinalRequestStatus, reason: EndReason): void {
    this.#finishRequest(entry, status, reason, false);
  }

  #enterGap(until: number): void {
    if (until <= this.#clock.now()) {
      this.state = { status: StationStatus.Idle };
      this.#tryStart();
      return;
    }
    this.state = { status: StationStatus.Gap, until };
    this.#setTimer(until, () => {
      this.state = { status: StationStatus.Idle };
      this.#tryStart();
    });
  }

  /** Final status for a request: its unaired chunks are SKIPPED, it leaves the queue. */
  #finishRequest(entry: QueueEntry, status: FinalRequestStatus, reason: EndReason, wasOnAir: boolean): void {
    const now = this.#clock.now();
    const error =
      reason === 'stalled'
        ? `stalled: no audio for ${Math.round(this.#stallMs / 1000)} s`
        : reason === 'failed'
          ? (entry.request.error ?? 'generation failed')
          : undefined;
    if (status === RequestStatus.Failed && entry.request.generation !== GenerationStatus.Failed) {
      if (entry.request.generation !== GenerationStatus.Generated) {
        this.#persist(transitionGeneration(entry.request, GenerationStatus.Failed, error ? { error } : {}));
      }
    }
    for (const chunk of entry.chunks) {
      if (chunk && (chunk.status === ChunkStatus.Ready || chunk.status === ChunkStatus.Playing)) {
        this.#setChunkStatus(chunk, ChunkStatus.Skipped, now);
      }
    }
    this.#setRequestStatus(entry, status, now, error);
    const i = this.#queue.indexOf(entry);
    if (i >= 0) this.#queue.splice(i, 1);
    if (this.#stallTarget === entry) this.#disarmStall();
    this.emit('requestEnded', {
      campaignId: this.campaignId,
      request: entry.request,
      status,
      reason,
      wasOnAir,
    });
    this.emit('queueChanged', { campaignId: this.campaignId });
  }

  // ── Stall detection (rule 5) ───────────────────────────────────────────

  #stallTarget: QueueEntry | null = null;

  #armStall(entry: QueueEntry): void {
    this.#disarmStall();
    this.#stallTarget = entry;
    const at = entry.lastProgressAt + this.#stallMs;
    this.#stallTimer = this.#clock.setTimeout(
      () => this.#stalled(entry),
      Math.max(0, at - this.#clock.now()),
    );
  }

  #disarmStall(): void {
    if (this.#stallTimer) this.#clock.clearTimeout(this.#stallTimer);
    this.#stallTimer = null;
    this.#stallTarget = null;
  }

  #stalled(entry: QueueEntry): void {
    this.#stallTimer = null;
    this.#stallTarget = null;
    if (!this.#queue.includes(entry)) return;
    const due = entry.lastProgressAt + this.#stallMs;
    if (this.#clock.now() < due) {
      this.#armStall(entry);
      return;
    }
    this.#log.warn({ request: entry.request.id }, `${AUDIO_DEBUG} request stalled`);
    if (this.#onAirEntry() === entry) {
      this.#endOnAir(entry, RequestStatus.Failed, 'stalled', this.#clock.now());
    } else {
      this.#endQueued(entry, RequestStatus.Failed, 'stalled');
      this.#tryStart();
    }
  }

  // ── Helpers ────────────────────────────────────────────────────────────

  #setRequestStatus(entry: QueueEntry, to: RequestStatus, at: number, error?: string): void {
    const from = entry.request.status;
    const op = transitionRequest(entry.request, to, new Date(at), error);
    this.#log.info(
      { request: entry.request.id, from, to, ...(error ? { error } : {}) },
      `${AUDIO_DEBUG} request ${from} → ${to}`,
    );
    this.#persist(op);
  }

  #setChunkStatus(chunk: AudioChunk, to: ChunkStatus, at: number): void {
    const from = chunk.status;
    const op = transitionChunk(chunk, to, new Date(at));
    this.#log.debug(
      { request: chunk.requestId, chunk: chunk.id, seq: chunk.sequenceNumber, from, to },
      `${AUDIO_DEBUG} chunk ${from} → ${to}`,
    );
    this.#persist(op);
  }

  #persist(op: WriteOp): void {
    this.#repo.apply(op).catch((err: unknown) => {
      this.#log.error({ err, op: op.op }, 'could not persist a station write');
    });
  }

  #setTimer(at: number, fn: () => void): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = null;
        if (!this.#destroyed) fn();
      },
      Math.max(0, at - this.#clock.now()),
    );
  }

  #clearTimers(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#disarmStall();
  }

  #find(requestId: string): QueueEntry | undefined {
    return this.#queue.find((e) => e.request.id === requestId);
  }

  #onAirEntry(): QueueEntry | undefined {
    const s = this.#state;
    return s.status === StationStatus.OnAir || s.status === StationStatus.Underrun ? s.entry : undefined;
  }

  #pausedEntry(): QueueEntry | undefined {
    const s = this.#state;
    return s.status === StationStatus.Paused && 'entry' in s.resume ? s.resume.entry : undefined;
  }

  #isPausedOn(entry: QueueEntry): boolean {
    return this.#pausedEntry() === entry;
  }

  #firstUnplayed(entry: QueueEntry): number {
    let i = 0;
    while (entry.chunks[i]?.status === ChunkStatus.Played) i++;
    return i;
  }

  #position(
    entry: QueueEntry,
    index: number,
    offsetMs: number,
    paused: boolean,
    underrun: boolean,
  ): NowPlaying {
    let before = 0;
    for (let i = 0; i < index; i++) before += entry.chunks[i]?.durationMs ?? 0;
    const chunk = entry.chunks[index] ?? null;
    return {
      request: entry.request,
      chunk,
      chunkIndex: index,
      offsetMs,
      positionSec: (before + offsetMs) / 1000,
      paused,
      underrun,
    };
  }
}
