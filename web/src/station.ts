/**
 * The station as one page sees it: the WebSocket, the clock estimate, the
 * schedule, the queue, and (after "tap to start") Web Audio playback. Both
 * pages use it; the listener always plays, the DM console on request.
 * Browser glue: the decisions live in the pure modules it wires together.
 */
import type { Clock } from '../../src/clock';
import { ApiError, type ApiClient } from './api';
import { ClockSync, HeartbeatTracker, heartbeatDelayMs } from './clock-sync';
import { Emitter } from './emitter';
import type { QueueSnapshot, RequestSummary, ScheduleEntry, ServerMessage } from './protocol';
import { StationScheduler, entryEnd, holdSchedule, type ScheduledChunkInfo } from './scheduler';
import { RequestPositions, type TimeMapping } from './timeline';
import { Transcript } from './transcript';
import { WebAudioOutput } from './web-audio';
import { ConnectionStatus, WsClient } from './ws-client';

/** The page's monotonic clock in epoch-like ms, and the window's timers. */
export const browserClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) =>
    window.setTimeout(fn, Math.max(0, ms)) as unknown as ReturnType<Clock['setTimeout']>,
  clearTimeout: (handle) => window.clearTimeout(handle as unknown as number),
};

/**
 * Why the server refuses the page's token, asked over HTTP (a browser hides
 * why a WebSocket handshake failed): the server's message for 400/401/403,
 * null when the link is fine or the server can't be reached.
 */
export async function refusalOf(api: Pick<ApiClient, 'getQueue'>): Promise<string | null> {
  try {
    await api.getQueue();
    return null;
  } catch (error) {
    if (error instanceof ApiError && [400, 401, 403].includes(error.status)) return error.message;
    return null;
  }
}

/** A caption as shown: the sentence being heard. */
export interface Caption {
  chunk_id: string;
  request_id: string;
  text: string;
  /** Server time it was shown. */
  at: number;
}

/** What the pages render. */
export interface StationView {
  connection: ConnectionStatus;
  paused: boolean;
  /**
   * The request on air per the station clock. `text` is the request's own
   * (DM), or for a player the sentences aired so far (`spoken: true`).
   */
  onAir: { request_id: string; text: string | null; spoken: boolean; sequence_number: number } | null;
  caption: Caption | null;
  /** Seconds into the on-air request per the station clock. */
  stationPositionSec: number | null;
  /** Chunks played / known of the on-air request (`playback_queue_updated`). */
  progress: { played: number; total: number } | null;
  pending: RequestSummary[];
  /** Recently finished requests (from the HTTP queue). */
  history: RequestSummary[];
  audio: 'off' | 'starting' | 'running' | 'suspended';
  /** The latest problem, shown for a while (`ERROR_SHOWN_MS`). */
  lastError: string | null;
  /** Why the server refuses this link (expired, tampered, another campaign's); the page stops retrying. */
  refusal: string | null;
}

/** Events of {@link Station}. */
export type StationEvents = {
  /** Something visible changed (at most a few times per second). */
  change: [view: StationView];
  message: [message: ServerMessage];
};

/** Options of {@link Station}. */
export interface StationOptions {
  campaignId: string;
  wsUrl: string;
  api: ApiClient;
  clock?: Clock;
  /** A playing chunk this far (s) from where the clock puts it is rescheduled. Default 0.05. */
  resyncThresholdSec?: number;
}

const TICK_MS = 200;
const MIN_CLOCK_SAMPLES = 2;
const MAX_CAPTIONS = 50;
const MAX_PLAYED_IDS = 200;
const MAX_REQUEST_TEXTS = 100;
const ERROR_SHOWN_MS = 15_000;

/** One page's view of the station. */
export class Station extends Emitter<StationEvents> {
  readonly #options: StationOptions;
  readonly #clock: Clock;
  readonly ws: WsClient;
  readonly clockSync = new ClockSync();
  readonly #heartbeats = new HeartbeatTracker();
  readonly #positions = new RequestPositions();
  readonly #requestTexts = new Map<string, string>();
  readonly #transcript = new Transcript();
  /** The token's role, from `connection_registered`; a player reads texts only as they air. */
  #role: 'player' | 'dm' | null = null;
  #heartbeatTimer: ReturnType<Clock['setTimeout']> | null = null;
  #heartbeatsSent = 0;
  #schedule: { paused: boolean; entries: ScheduleEntry[] } = { paused: false, entries: [] };
  #queue: Pick<QueueSnapshot, 'pending' | 'history'> = { pending: [], history: [] };
  #progress: StationView['progress'] = null;
  #audio: WebAudioOutput | null = null;
  #audioStarting = false;
  #scheduler: StationScheduler<AudioBuffer> | null = null;
  #captions: Caption[] = [];
  #caption: Caption | null = null;
  #played: string[] = [];
  #unacked: string[] = [];
  #lastError: { message: string; at: number } | null = null;
  #lastResync = 0;
  #tick: number | null = null;

  constructor(options: StationOptions) {
    super();
    this.#options = options;
    this.#clock = options.clock ?? browserClock;
    this.ws = new WsClient({
      url: options.wsUrl,
      clock: this.#clock,
      probe: () => this.ws.send(this.#heartbeats.sent(this.#clock.now())),
      checkRefusal: () => refusalOf(options.api),
    });
    this.ws.on('stateChange', (old, state) => {
      if (state.status === ConnectionStatus.Live) this.#onLive();
      else this.#stopHeartbeats();
      // Out of touch with the station: finish at most the chunk being sounded, then wait.
      if (old.status === ConnectionStatus.Live && state.status !== ConnectionStatus.Live) this.#hold();
      if (state.status === ConnectionStatus.Superseded) {
        // The same link plays elsewhere now; two copies of the station here and there help nobody.
        this.#schedule = { paused: false, entries: [] };
        this.#scheduler?.stopAll();
      }
      this.#changed();
    });
    this.ws.on('message', (message, receivedAt) => this.#onMessage(message, receivedAt));
  }

  /** Connects (and keeps reconnecting); also "reconnect here" after being superseded. */
  start(): void {
    this.ws.start();
    this.#tick ??= window.setInterval(() => this.#onTick(), TICK_MS);
  }

  /** Disconnects and stops playback (page teardown, tests). */
  stop(): void {
    if (this.#tick !== null) window.clearInterval(this.#tick);
    this.#tick = null;
    this.#stopHeartbeats();
    this.ws.stop();
    void this.stopAudio();
  }

  /** Estimated server time now (ms). */
  serverNow(): number {
    return this.clockSync.serverNow(this.#clock.now());
  }

  /** The Web Audio output, once started. */
  get audio(): WebAudioOutput | null {
    return this.#audio;
  }

  /**
   * Creates or resumes the AudioContext. Call from a user gesture (autoplay
   * rules); playback then follows the schedule at the live position.
   */
  async startAudio(): Promise<void> {
    if (!this.#audio) {
      this.#audioStarting = true;
      this.#changed();
      const output = new WebAudioOutput();
      this.#audio = output;
      this.#scheduler = new StationScheduler<AudioBuffer>({
        output,
        loadBytes: (entry) => this.#options.api.chunkBytes(entry.url, AbortSignal.timeout(20_000)),
        mapping: () => this.#mapping(),
        serverNow: () => this.serverNow(),
      });
      this.#scheduler.on('played', (entry) => this.#onPlayed(entry.chunk_id));
      this.#scheduler.on('failed', (entry, error) => {
        this.#setError(`Could not load a chunk (${entry.chunk_id}): ${String(error)}`);
        this.#changed();
      });
      let interrupted = false;
      output.context.addEventListener('statechange', () => {
        // After a suspension (phone call, OS audio focus) everything placed is stale.
        if (output.context.state !== 'running' && !this.#audioStarting) interrupted = true;
        else if (output.context.state === 'running' && interrupted) {
          interrupted = false;
          void output.settled().then(() => this.#scheduler?.resync());
        }
        this.#changed();
      });
    }
    try {
      await this.#audio.context.resume();
      // Place nothing until the output clock is known: a guess is ~10 ms off.
      await this.#audio.settled();
    } finally {
      this.#audioStarting = false;
    }
    this.#scheduler?.reconcile(this.#schedule);
    this.#changed();
  }

  /** Stops playback and closes the AudioContext (the DM console's toggle). */
  async stopAudio(): Promise<void> {
    this.#scheduler?.stopAll();
    this.#caption = null;
    this.#scheduler = null;
    const audio = this.#audio;
    this.#audio = null;
    await audio?.context.close().catch(() => undefined);
    this.#changed();
  }

  /** The current view. */
  view(): StationView {
    const now = this.serverNow();
    const entry = this.#entryAt(now);
    const state = this.ws.state.status;
    const ctx = this.#audio?.context;
    return {
      connection: state,
      paused: this.#schedule.paused,
      onAir: entry
        ? {
            request_id: entry.request_id,
            text: this.#onAirText(entry),
            spoken: this.#role === 'player',
            sequence_number: entry.sequence_number,
          }
        : null,
      caption: this.#caption,
      stationPositionSec: this.stationPositionSec(),
      progress: this.#progress,
      pending: this.#queue.pending,
      history: this.#queue.history,
      audio: this.#audioStarting
        ? 'starting'
        : !ctx
          ? 'off'
          : ctx.state === 'running'
            ? 'running'
            : 'suspended',
      lastError:
        this.#lastError && this.#clock.now() - this.#lastError.at < ERROR_SHOWN_MS
          ? this.#lastError.message
          : null,
      refusal: this.ws.state.status === ConnectionStatus.Refused ? this.ws.state.reason : null,
    };
  }

  /**
   * Keeps only the chunk being sounded (scheduler.ts `holdSchedule`): the
   * station may not air what follows (a crashed server resumes at its first
   * unplayed chunk), and the next `station_schedule` says what it does air.
   */
  #hold(): void {
    const heard = this.#audio && this.#scheduler?.audibleAt(this.#audio.heardTime());
    const sounding = this.#audio ? (heard?.entry ?? null) : this.#entryAt(this.serverNow());
    const held = holdSchedule(this.#schedule, sounding?.chunk_id ?? null);
    this.#schedule = { paused: held.paused, entries: [...held.entries] };
    this.#scheduler?.reconcile(this.#schedule);
  }

  /**
   * The DM reads the request's own text (the prompt, for `narrate`); a
   * player the sentences aired so far, up to the one on air.
   */
  #onAirText(entry: ScheduleEntry): string | null {
    const known = this.#requestTexts.get(entry.request_id) ?? null;
    if (this.#role !== 'player') return known;
    return this.#transcript.spoken(entry.request_id, entry.sequence_number) ?? known;
  }

  /** Seconds into the on-air request per the station clock; null when nothing airs or unknown. */
  stationPositionSec(): number | null {
    const now = this.serverNow();
    const entry = this.#entryAt(now);
    if (!entry) return null;
    const start = this.#positions.startOf(entry.request_id, entry.sequence_number);
    return start === null ? null : start + (now - entry.starts_at) / 1000;
  }

  /** Seconds into the request being heard, from the AudioContext clock and what was started. */
  playbackPositionSec(): number | null {
    if (!this.#audio || !this.#scheduler) return null;
    const heard = this.#scheduler.audibleAt(this.#audio.heardTime());
    if (!heard) return null;
    const start = this.#positions.startOf(heard.entry.request_id, heard.entry.sequence_number);
    return start === null ? null : start + heard.positionSec;
  }

  /** Debug view of the scheduled chunks. */
  scheduled(): ScheduledChunkInfo[] {
    return this.#scheduler?.chunks() ?? [];
  }

  /** Captions shown so far (most recent last, bounded). */
  get captions(): readonly Caption[] {
    return this.#captions;
  }

  /** Chunks played to their end here (most recent last, bounded). */
  get playedChunkIds(): readonly string[] {
    return this.#played;
  }

  /** The last `station_schedule` applied. */
  get schedule(): { paused: boolean; entries: readonly ScheduleEntry[] } {
    return this.#schedule;
  }

  /** Refetches the HTTP queue (history, exact position anchor). */
  async refreshQueue(): Promise<void> {
    try {
      const snapshot = await this.#options.api.getQueue();
      this.#queue = { pending: snapshot.pending, history: snapshot.history };
      for (const r of [...snapshot.pending, ...snapshot.history]) this.#noteText(r.request_id, r.text);
      const np = snapshot.now_playing;
      if (np) {
        this.#noteText(np.request_id, np.text);
        this.#positions.noteStart(
          np.request_id,
          np.sequence_number,
          np.request_position_sec - np.position_sec,
        );
      }
      this.#changed();
    } catch (error) {
      this.#setError(error instanceof Error ? error.message : String(error));
      this.#changed();
    }
  }

  #mapping(): TimeMapping | null {
    const offset = this.clockSync.offsetMs;
    // The connect stamp alone is a wide sample: wait for a heartbeat too.
    if (offset === null || this.clockSync.sampleCount < MIN_CLOCK_SAMPLES || !this.#audio) return null;
    return {
      clockOffsetMs: offset,
      timeOrigin: performance.timeOrigin,
      output: this.#audio.outputTimestamp(),
    };
  }

  #entryAt(serverMs: number): ScheduleEntry | null {
    if (this.#schedule.paused) return null;
    return this.#schedule.entries.find((e) => e.starts_at <= serverMs && serverMs < entryEnd(e)) ?? null;
  }

  #onLive(): void {
    this.#heartbeats.reset();
    this.#heartbeatsSent = 0;
    this.#scheduleHeartbeat();
    this.#flushAcks();
    void this.refreshQueue();
  }

  #scheduleHeartbeat(): void {
    this.#stopHeartbeats();
    this.#heartbeatTimer = this.#clock.setTimeout(() => {
      this.#heartbeatTimer = null;
      if (this.ws.send(this.#heartbeats.sent(this.#clock.now()))) this.#heartbeatsSent++;
      this.#scheduleHeartbeat();
    }, heartbeatDelayMs(this.#heartbeatsSent));
  }

  #stopHeartbeats(): void {
    if (this.#heartbeatTimer) this.#clock.clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = null;
  }

  #addClockSample(sentAt: number, serverTime: number, receivedAt: number): void {
    this.clockSync.addSample(sentAt, serverTime, receivedAt);
    // The scheduler waits for a clock estimate before placing anything.
    if (this.clockSync.sampleCount === MIN_CLOCK_SAMPLES) this.#scheduler?.reconcile(this.#schedule);
  }

  #onMessage(message: ServerMessage, receivedAt: number): void {
    switch (message.type) {
      case 'connection_registered': {
        this.#role = message.role ?? null;
        const state = this.ws.state;
        // The stamp lies between creating the socket and now: a valid, if wide, sample.
        if (state.status === ConnectionStatus.Live) {
          this.#addClockSample(state.createdAt, message.server_time, receivedAt);
        }
        break;
      }
      case 'heartbeat_ack': {
        const best = this.clockSync.bestRttMs;
        const sentAt = this.#heartbeats.answered(message, {
          offsetMs: this.clockSync.offsetMs,
          slackMs: (best ?? 1000) + 50,
        });
        if (sentAt !== null) this.#addClockSample(sentAt, message.server_time, receivedAt);
        break;
      }
      case 'station_schedule':
        this.#schedule = { paused: message.paused, entries: message.entries };
        this.#transcript.noteSchedule(message.entries);
        for (const e of message.entries) {
          this.#positions.noteDuration(e.request_id, e.sequence_number, e.duration_sec);
        }
        this.#scheduler?.reconcile(this.#schedule);
        break;
      case 'audio_chunk_ready':
        this.#positions.noteDuration(message.request_id, message.sequence_number, message.chunk.duration_sec);
        this.#prefetch(message);
        break;
      case 'audio_stream_started':
        this.#noteText(message.request_id, message.text);
        if (!message.is_late_join) this.#positions.noteStart(message.request_id, 0, 0);
        break;
      case 'playback_queue_updated':
        this.#queue = { ...this.#queue, pending: message.pending_requests };
        for (const r of message.pending_requests) this.#noteText(r.request_id, r.text);
        this.#progress = message.current_request
          ? { played: message.current_request.played_count, total: message.current_request.chunk_count }
          : null;
        break;
      case 'audio_stream_stopped':
        break;
      case 'error':
        this.#setError(`${message.message} (${message.code})`);
        break;
    }
    this.emit('message', message);
    this.#changed();
  }

  #setError(message: string): void {
    this.#lastError = { message, at: this.#clock.now() };
  }

  /** Remembers a request's text for "now playing" (bounded: a long session has many); players get none. */
  #noteText(requestId: string, text: string | null): void {
    if (text === null) return;
    this.#requestTexts.delete(requestId);
    this.#requestTexts.set(requestId, text);
    if (this.#requestTexts.size > MAX_REQUEST_TEXTS) {
      this.#requestTexts.delete(this.#requestTexts.keys().next().value!);
    }
  }

  /** Fetches and decodes the on-air request's next chunk before its schedule entry arrives. */
  #prefetch(message: Extract<ServerMessage, { type: 'audio_chunk_ready' }>): void {
    const onAir = this.#entryAt(this.serverNow());
    if (!this.#scheduler || onAir?.request_id !== message.request_id) return;
    this.#scheduler.prefetch({
      request_id: message.request_id,
      chunk_id: message.chunk.id,
      sequence_number: message.sequence_number,
      url: message.chunk.url,
      text: '',
      starts_at: 0,
      duration_sec: message.chunk.duration_sec,
    });
  }

  #onPlayed(chunkId: string): void {
    this.#played.push(chunkId);
    if (this.#played.length > MAX_PLAYED_IDS) this.#played.shift();
    this.#unacked.push(chunkId);
    if (this.#unacked.length > MAX_PLAYED_IDS) this.#unacked.shift();
    this.#flushAcks();
  }

  /** `audio_played` is informational; unsent ACKs wait for the next connection. */
  #flushAcks(): void {
    if (this.#unacked.length === 0) return;
    const sent = this.ws.send({
      type: 'audio_played',
      campaign_id: this.#options.campaignId,
      chunk_ids: this.#unacked,
    });
    if (sent) this.#unacked = [];
  }

  #onTick(): void {
    this.#updateCaption();
    const drift = this.#scheduler?.driftSec() ?? null;
    const threshold = this.#options.resyncThresholdSec ?? 0.05;
    const now = this.#clock.now();
    if (drift !== null && Math.abs(drift) > threshold && now - this.#lastResync > 2000) {
      this.#lastResync = now;
      this.#scheduler?.resync();
    }
    this.#changed();
  }

  /** Captions follow what is heard; before audio starts, the station clock. */
  #updateCaption(): void {
    const heard = this.#audio && this.#scheduler?.audibleAt(this.#audio.heardTime());
    const entry = this.#audio ? (heard?.entry ?? null) : this.#entryAt(this.serverNow());
    if (!entry) {
      this.#caption = null;
      return;
    }
    if (this.#caption?.chunk_id === entry.chunk_id) return;
    // A player's sentence arrives as its chunk airs: until then the last caption stays.
    const text = this.#transcript.textOf(entry.chunk_id) ?? entry.text;
    if (text === null) return;
    this.#caption = {
      chunk_id: entry.chunk_id,
      request_id: entry.request_id,
      text,
      at: this.serverNow(),
    };
    this.#captions.push(this.#caption);
    if (this.#captions.length > MAX_CAPTIONS) this.#captions.shift();
  }

  #changed(): void {
    this.emit('change', this.view());
  }
}
