import { EventEmitter } from 'node:events';
import { AudioPlayerStatus } from '@discordjs/voice';
import type { Readable } from 'node:stream';
import type { Clock, TimerHandle } from '../../clock';
import { AUDIO_DEBUG, type Logger } from '../../log';
import {
  StationStatus,
  type AudioChunk,
  type AudioStore,
  type EndReason,
  type Station,
  type StationEvents,
} from '../../playback';
import type { AudioPlayerPort, AudioResourcePort, PlayerState } from './adapter';
import { RequestFeed } from './request-feed';

/** What the sink is feeding the player. */
export enum SinkStatus {
  /** Nothing playing. */
  Silent = 'silent',
  /** A request's stream is playing and takes more chunks as they come. */
  Airing = 'airing',
  /** The request ended on the station; its stream plays out what it has. */
  Draining = 'draining',
}

interface Playing {
  feed: RequestFeed;
  resource: AudioResourcePort;
}

/** The sink's state; fields exist only in the states they belong to. */
export type SinkState =
  | { status: SinkStatus.Silent }
  | ({ status: SinkStatus.Airing } & Playing)
  | ({ status: SinkStatus.Draining; next: Playing | null } & Playing);

/** Options for {@link StationSink}. */
export interface StationSinkOptions {
  station: Station;
  player: AudioPlayerPort;
  createResource(stream: Readable): AudioResourcePort;
  store: AudioStore;
  clock: Clock;
  log: Logger;
  /** True while the voice connection carries audio; the sink starts requests only then. */
  isConnected(): boolean;
  /** Current idle timeout (campaign setting). */
  idleTimeoutMs(): number;
  /** Called once nothing has been queued for the idle timeout. */
  onIdle(): void;
  /** Longest wait for the previous request's tail before the next one cuts in. */
  drainTimeoutMs?: number;
}

/** Events of a {@link StationSink}. */
export interface StationSinkEvents {
  stateChange: [oldState: SinkState, newState: SinkState];
}

/**
 * Plays one campaign's station into one guild's AudioPlayer, following it:
 * a request airs as one continuous Ogg Opus stream (chunks appended as they
 * are generated, so there is nothing to prepare at a chunk boundary); skip
 * and stop cut the player at once; pause/resume pause it; a sink that starts
 * mid-request starts at the station's position. It never moves the station.
 */
export class StationSink extends EventEmitter<StationSinkEvents> {
  readonly #o: StationSinkOptions;
  readonly #log: Logger;
  /** Chunk id → its bytes, read ahead of time. */
  readonly #prefetch = new Map<string, { requestId: string; bytes: Promise<Buffer> }>();
  #state: SinkState = { status: SinkStatus.Silent };
  #idleTimer: TimerHandle | null = null;
  #drainTimer: TimerHandle | null = null;
  #disposed = false;
  readonly #handlers: { [K in keyof StationEvents]?: (...args: StationEvents[K]) => void };

  constructor(options: StationSinkOptions) {
    super();
    this.#o = options;
    this.#log = options.log.child({ campaign: options.station.campaignId });
    this.#handlers = {
      chunkReady: (e) => this.#onChunkReady(e.request.id, e.chunk),
      chunkStarted: (e) => this.#onChunkStarted(e.request.id, e.chunk.sequenceNumber, e.startsAt),
      requestEnded: (e) => this.#onRequestEnded(e.request.id, e.reason),
      stateChange: (old, next) => this.#onStationState(old.status, next.status),
      queueChanged: () => this.#checkIdle(),
    };
    for (const [name, fn] of Object.entries(this.#handlers)) {
      options.station.on(name as keyof StationEvents, fn as (...a: unknown[]) => void);
    }
    options.player.on('stateChange', this.#onPlayerState);
  }

  get state(): SinkState {
    return this.#state;
  }

  private set state(next: SinkState) {
    const old = this.#state;
    this.#state = next;
    this.emit('stateChange', old, next);
  }

  /** The feed on air (or draining), for status and tests. */
  get feed(): RequestFeed | null {
    return this.#state.status === SinkStatus.Silent ? null : this.#state.feed;
  }

  /** Arms the idle timer if the station has nothing queued (call once, after construction). */
  start(): void {
    this.#checkIdle();
  }

  /** The connection became Ready: catch up with whatever the station is airing. */
  voiceReady(): void {
    if (this.#disposed || this.#state.status !== SinkStatus.Silent) return;
    const now = this.#o.station.now();
    if (!now?.chunk) return;
    this.#start(now.request.id, now.chunkIndex, now.offsetMs);
    if (now.paused) {
      this.#o.player.pause();
      this.feed?.pause();
    }
  }

  /** The campaign's idle timeout changed: re-arm with the new value. */
  settingsChanged(): void {
    this.#disarmIdle();
    this.#checkIdle();
  }

  /** Unsubscribes and stops playing. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const [name, fn] of Object.entries(this.#handlers)) {
      this.#o.station.off(name as keyof StationEvents, fn as (...a: unknown[]) => void);
    }
    this.#o.player.off('stateChange', this.#onPlayerState);
    this.#disarmIdle();
    this.#cut();
    this.#prefetch.clear();
  }

  // ── Station → player ──────────────────────────────────────────────────

  #onChunkReady(requestId: string, chunk: AudioChunk): void {
    // Read the bytes now, while earlier audio plays, so appending costs nothing later.
    if (!this.#disposed && !this.#prefetch.has(chunk.id)) {
      const bytes = this.#o.store.get(chunk.opusKey);
      bytes.catch(() => undefined);
      this.#prefetch.set(chunk.id, { requestId, bytes });
    }
    const feed = this.#feedFor(requestId);
    if (feed) this.#pump(feed);
  }

  #onChunkStarted(requestId: string, seq: number, startsAt: number): void {
    if (this.#disposed || !this.#o.isConnected()) return;
    const feed = this.#feedFor(requestId);
    if (feed) {
      feed.chunkStarted(seq, startsAt);
      this.#pump(feed);
      return;
    }
    this.#start(requestId, seq, Math.max(0, this.#o.clock.now() - startsAt));
  }

  #onRequestEnded(requestId: string, reason: EndReason): void {
    for (const [id, p] of this.#prefetch) if (p.requestId === requestId) this.#prefetch.delete(id);
    const s = this.#state;
    if (s.status === SinkStatus.Draining && s.next?.feed.requestId === requestId) {
      s.next.feed.destroy();
      this.state = { ...s, next: null };
    }
    if (this.feed?.requestId !== requestId) return;
    if (reason === 'skipped' || reason === 'stopped') {
      this.#log.debug({ request: requestId, reason }, `${AUDIO_DEBUG} voice: cut`);
      this.#cut();
    } else if (s.status === SinkStatus.Airing) {
      s.feed.finish();
      this.state = { status: SinkStatus.Draining, feed: s.feed, resource: s.resource, next: null };
    }
  }

  #onStationState(from: StationStatus, to: StationStatus): void {
    if (to === StationStatus.Paused && from !== StationStatus.Paused) {
      this.#o.player.pause();
      this.feed?.pause();
    } else if (from === StationStatus.Paused && to !== StationStatus.Paused) {
      this.#o.player.unpause();
      this.feed?.resume();
    }
  }

  readonly #onPlayerState = (_old: PlayerState, next: PlayerState): void => {
    const s = this.#state;
    if (next.status === AudioPlayerStatus.Playing && this.#o.station.paused) {
      // play() landed while the station is paused (a join during a pause).
      this.#o.player.pause();
      return;
    }
    if (next.status !== AudioPlayerStatus.Idle || s.status === SinkStatus.Silent) return;
    if (s.status === SinkStatus.Draining && s.next) {
      this.#play(s.next);
      return;
    }
    if (s.status === SinkStatus.Airing) {
      this.#log.warn({ request: s.feed.requestId }, `${AUDIO_DEBUG} voice: player stopped early`);
      s.feed.destroy();
    }
    this.#clearDrainTimer();
    this.state = { status: SinkStatus.Silent };
  };

  // ── Feeds ─────────────────────────────────────────────────────────────

  #start(requestId: string, startIndex: number, offsetMs: number): void {
    const feed = new RequestFeed({
      requestId,
      startIndex,
      startsAt: this.#o.clock.now() - offsetMs,
      clock: this.#o.clock,
      load: (chunk) => this.#load(chunk),
      log: this.#log,
    });
    this.#pump(feed);
    const next: Playing = { feed, resource: this.#o.createResource(feed.stream) };
    this.#log.debug({ request: requestId, startIndex, offsetMs }, `${AUDIO_DEBUG} voice: request on air`);
    const s = this.#state;
    if (s.status === SinkStatus.Airing) {
      s.feed.destroy(); // superseded without an end event: the station moved on
    } else if (s.status === SinkStatus.Draining) {
      if (!s.resource.ended && this.#o.player.state.status !== AudioPlayerStatus.Idle) {
        // Let the previous request's last words finish; the inter-request gap usually covers them.
        s.next?.feed.destroy();
        next.feed.hold(); // the player reads it only once the tail is out
        this.state = { ...s, next };
        this.#armDrainTimer();
        return;
      }
      s.feed.destroy();
    }
    this.#play(next);
  }

  #play(p: Playing): void {
    this.#clearDrainTimer();
    this.state = { status: SinkStatus.Airing, feed: p.feed, resource: p.resource };
    p.feed.resume();
    p.feed.playing();
    this.#o.player.play(p.resource);
  }

  #pump(feed: RequestFeed): void {
    const entry = this.#o.station.findRequest(feed.requestId);
    if (entry) feed.pump(entry.chunks);
  }

  #load(chunk: AudioChunk): Promise<Buffer> {
    const hit = this.#prefetch.get(chunk.id);
    this.#prefetch.delete(chunk.id);
    return hit?.bytes ?? this.#o.store.get(chunk.opusKey);
  }

  #feedFor(requestId: string): RequestFeed | null {
    const s = this.#state;
    if (s.status === SinkStatus.Airing && s.feed.requestId === requestId) return s.feed;
    if (s.status === SinkStatus.Draining && s.next?.feed.requestId === requestId) return s.next.feed;
    return null;
  }

  /** Stops the player now and drops every feed. */
  #cut(): void {
    const s = this.#state;
    this.#clearDrainTimer();
    if (s.status === SinkStatus.Silent) return;
    s.feed.destroy();
    if (s.status === SinkStatus.Draining) s.next?.feed.destroy();
    this.state = { status: SinkStatus.Silent };
    this.#o.player.stop(true);
  }

  #armDrainTimer(): void {
    this.#clearDrainTimer();
    this.#drainTimer = this.#o.clock.setTimeout(() => {
      this.#drainTimer = null;
      const s = this.#state;
      if (s.status === SinkStatus.Draining && s.next) {
        s.feed.destroy();
        this.#play(s.next);
      }
    }, this.#o.drainTimeoutMs ?? 1_000);
  }

  #clearDrainTimer(): void {
    if (this.#drainTimer) this.#o.clock.clearTimeout(this.#drainTimer);
    this.#drainTimer = null;
  }

  // ── Idle leave ────────────────────────────────────────────────────────

  #checkIdle(): void {
    if (this.#disposed) return;
    if (this.#o.station.queue().length > 0) {
      this.#disarmIdle();
    } else if (!this.#idleTimer) {
      this.#idleTimer = this.#o.clock.setTimeout(() => {
        this.#idleTimer = null;
        if (!this.#disposed && this.#o.station.queue().length === 0) this.#o.onIdle();
      }, this.#o.idleTimeoutMs());
    }
  }

  #disarmIdle(): void {
    if (this.#idleTimer) this.#o.clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }
}
