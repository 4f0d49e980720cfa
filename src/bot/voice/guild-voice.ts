import { EventEmitter } from 'node:events';
import { VoiceConnectionDisconnectReason, VoiceConnectionStatus } from '@discordjs/voice';
import type { Clock, TimerHandle } from '../../clock';
import type { Logger } from '../../log';
import type { AudioPlayerPort, ConnectionState, VoiceAdapter, VoiceConnectionPort } from './adapter';
import { entersState, sleep } from './enters-state';

/** Where one guild's voice presence is. */
export enum GuildVoiceStatus {
  /** Joining for the first time, or moving to another channel. */
  Connecting = 'connecting',
  /** Connected; audio reaches the channel. */
  Ready = 'ready',
  /** Lost the connection; the library or {@link GuildVoice} is getting it back. */
  Reconnecting = 'reconnecting',
  /** Left for good; a new join makes a new GuildVoice. */
  Destroyed = 'destroyed',
}

/** Why the bot left a voice channel. */
export type LeaveReason =
  | 'left'
  | 'moved'
  | 'idle'
  | 'kicked'
  | 'channel_gone'
  | 'rate_limited'
  | 'reconnect_failed'
  | 'join_timeout'
  | 'shutdown'
  | 'connection_destroyed';

/** A {@link GuildVoice}'s state; fields exist only in the states they belong to. */
export type GuildVoiceState =
  | { status: GuildVoiceStatus.Connecting; channelId: string }
  | { status: GuildVoiceStatus.Ready; channelId: string }
  | { status: GuildVoiceStatus.Reconnecting; channelId: string; attempt: number }
  | { status: GuildVoiceStatus.Destroyed; reason: LeaveReason; closeCode?: number };

/** Timing of joins and reconnects. */
export interface GuildVoiceTiming {
  /** A first join that is not Ready by then is abandoned. */
  joinTimeoutMs: number;
  /** After a disconnect: how long to wait for the library to start reconnecting by itself (a move or a blip). */
  signalWaitMs: number;
  /** How long one reconnect may take to reach Ready. */
  readyTimeoutMs: number;
  /**
   * Joins sent to get a dropped connection back (the library's own and
   * `rejoin()`s) allowed within {@link attemptWindowMs}; one more drop gives up.
   */
  maxRejoinAttempts: number;
  attemptWindowMs: number;
  /** Backoff before attempt n: `min(base · 2^(n-1), max)`. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** Defaults for {@link GuildVoiceTiming}. */
export const DEFAULT_VOICE_TIMING: GuildVoiceTiming = {
  joinTimeoutMs: 20_000,
  signalWaitMs: 5_000,
  readyTimeoutMs: 20_000,
  maxRejoinAttempts: 5,
  attemptWindowMs: 60_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 30_000,
};

/**
 * Voice close codes after which Discord says not to reconnect: kicked or the
 * channel deleted (4014), rate limited (4021), call terminated (4022).
 */
export const NO_RECONNECT_CODES: ReadonlyMap<number, LeaveReason> = new Map<number, LeaveReason>([
  [4014, 'kicked'],
  [4021, 'rate_limited'],
  [4022, 'channel_gone'],
]);

/** Options for {@link GuildVoice}. */
export interface GuildVoiceOptions {
  guildId: string;
  channelId: string;
  adapter: VoiceAdapter;
  clock: Clock;
  log: Logger;
  timing?: Partial<GuildVoiceTiming>;
}

/** Events of a {@link GuildVoice}. */
export interface GuildVoiceEvents {
  stateChange: [oldState: GuildVoiceState, newState: GuildVoiceState];
}

/**
 * One guild's VoiceConnection and AudioPlayer, and the lifecycle around them:
 * join, tell a move or a blip from a real disconnect, rejoin a bounded number
 * of times with backoff, give up on the close codes that mean "don't", and
 * clean up. The state changes only in the `state` setter.
 */
export class GuildVoice extends EventEmitter<GuildVoiceEvents> {
  readonly guildId: string;
  readonly player: AudioPlayerPort;
  readonly #connection: VoiceConnectionPort;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #timing: GuildVoiceTiming;
  #state: GuildVoiceState;
  #recovering = false;
  /** Clock times of the joins sent to recover the connection (newest last). */
  #attempts: number[] = [];
  /** The library's automatic rejoin was held back: no point waiting for it. */
  #held = false;
  #lastCloseCode: number | undefined;
  /** Armed when the library reconnects by itself; fires if that never reaches Ready. */
  #watchdog: TimerHandle | null = null;

  constructor(options: GuildVoiceOptions) {
    super();
    this.guildId = options.guildId;
    this.#clock = options.clock;
    this.#log = options.log.child({ guild: options.guildId });
    this.#timing = { ...DEFAULT_VOICE_TIMING, ...options.timing };
    this.#state = { status: GuildVoiceStatus.Connecting, channelId: options.channelId };
    this.player = options.adapter.createPlayer();
    this.#connection = options.adapter.join(options.guildId, options.channelId);
    this.#connection.on('stateChange', this.#onConnectionState);
    this.#connection.on('networkClose', this.#onNetworkClose);
    this.player.on('error', (err) => this.#log.warn({ err }, 'voice: audio player error'));
    this.#connection.subscribe(this.player);
    if (this.#connection.state.status === VoiceConnectionStatus.Ready) this.#markReady();
  }

  get state(): GuildVoiceState {
    return this.#state;
  }

  private set state(next: GuildVoiceState) {
    const old = this.#state;
    this.#state = next;
    if (old.status !== next.status) this.#log.debug({ from: old.status, to: next.status }, 'voice state');
    this.emit('stateChange', old, next);
  }

  /** The channel the bot is in or joining; null once destroyed. */
  get channelId(): string | null {
    return this.#state.status === GuildVoiceStatus.Destroyed ? null : this.#state.channelId;
  }

  get ready(): boolean {
    return this.#state.status === GuildVoiceStatus.Ready;
  }

  /** Waits for Ready; false (and destroyed) if the join does not complete in time. */
  async waitReady(timeoutMs = this.#timing.joinTimeoutMs): Promise<boolean> {
    try {
      await entersState(this, GuildVoiceStatus.Ready, timeoutMs, this.#clock, [GuildVoiceStatus.Destroyed]);
      return true;
    } catch {
      this.destroy('join_timeout');
      return false;
    }
  }

  /**
   * Moves to `channelId` without leaving first (`rejoin` with the new
   * channel, as Discord's client does); the connection reconnects there.
   */
  move(channelId: string): boolean {
    const s = this.#state;
    if (s.status === GuildVoiceStatus.Destroyed) return false;
    if (!this.#connection.rejoin(channelId)) return false;
    this.#log.info({ from: s.channelId, to: channelId }, 'voice: moving');
    this.state =
      this.#connection.state.status === VoiceConnectionStatus.Ready
        ? { status: GuildVoiceStatus.Ready, channelId }
        : { status: GuildVoiceStatus.Connecting, channelId };
    return true;
  }

  /** Leaves the channel and releases the connection and player. Idempotent. */
  destroy(reason: LeaveReason, closeCode?: number): void {
    if (this.#state.status === GuildVoiceStatus.Destroyed) return;
    this.#clearWatchdog();
    this.state = {
      status: GuildVoiceStatus.Destroyed,
      reason,
      ...(closeCode === undefined ? {} : { closeCode }),
    };
    this.#connection.off('stateChange', this.#onConnectionState);
    this.#connection.off('networkClose', this.#onNetworkClose);
    try {
      this.player.stop(true);
    } catch (err) {
      this.#log.debug({ err }, 'voice: player stop during destroy failed');
    }
    if (this.#connection.state.status !== VoiceConnectionStatus.Destroyed) this.#connection.destroy();
  }

  /**
   * The library reconnects by itself (a blip, a first close): if Discord
   * never answers its join, nothing else would notice — the bot would sit
   * "reconnecting" for ever. After `readyTimeoutMs`, rejoin with backoff.
   */
  #armWatchdog(): void {
    this.#clearWatchdog();
    this.#watchdog = this.#clock.setTimeout(() => {
      this.#watchdog = null;
      if (this.#isDestroyed() || this.ready || this.#recovering) return;
      this.#log.info('voice: the library did not reconnect in time; rejoining');
      this.#held = true; // no point waiting for the library again
      void this.#recover();
    }, this.#timing.readyTimeoutMs);
  }

  #clearWatchdog(): void {
    if (this.#watchdog) this.#clock.clearTimeout(this.#watchdog);
    this.#watchdog = null;
  }

  #markReady(): void {
    this.#clearWatchdog();
    const s = this.#state;
    if (s.status === GuildVoiceStatus.Destroyed) return;
    const channelId = this.#connection.channelId ?? s.channelId;
    if (s.status !== GuildVoiceStatus.Ready || s.channelId !== channelId) {
      this.state = { status: GuildVoiceStatus.Ready, channelId };
    }
  }

  readonly #onConnectionState = (_old: ConnectionState, next: ConnectionState): void => {
    const s = this.#state;
    if (s.status === GuildVoiceStatus.Destroyed) return;
    switch (next.status) {
      case VoiceConnectionStatus.Ready:
        this.#markReady();
        break;
      case VoiceConnectionStatus.Signalling:
      case VoiceConnectionStatus.Connecting:
        if (s.status === GuildVoiceStatus.Ready) {
          this.state = { status: GuildVoiceStatus.Reconnecting, channelId: s.channelId, attempt: 0 };
          this.#armWatchdog();
        }
        break;
      case VoiceConnectionStatus.Disconnected:
        if (!this.#recovering) void this.#recover();
        break;
      case VoiceConnectionStatus.Destroyed:
        this.destroy('connection_destroyed');
        break;
    }
  };

  /**
   * Runs before the library acts on the close (see the port's
   * `networkClose`): the library would send a join at once, on every close,
   * forever — a close that repeats (4017…) becomes a storm of joins that
   * spends the shard's gateway budget. So: the final codes destroy now (no
   * join at all); a first close lets the library's join go (a blip heals
   * fastest that way); one that follows soon after holds it, and #recover
   * rejoins with backoff, at most `maxRejoinAttempts` per `attemptWindowMs`.
   */
  readonly #onNetworkClose = (code: number): void => {
    if (this.#isDestroyed()) return;
    this.#lastCloseCode = code;
    // 4014 also arrives when the bot is dragged to another channel; the library
    // reports it as Disconnected (no join of its own) and #recover tells those apart.
    if (code === 4014) return;
    const reason = NO_RECONNECT_CODES.get(code);
    if (reason) {
      this.#log.info({ closeCode: code, reason }, 'voice: Discord closed the connection for good');
      this.destroy(reason, code);
      return;
    }
    const recent = this.#recentAttempts();
    if (recent >= this.#timing.maxRejoinAttempts) {
      this.#giveUp(code);
    } else if (recent === 0 && !this.#recovering) {
      this.#attempts.push(this.#clock.now());
      this.#log.info({ closeCode: code }, 'voice: connection closed; rejoining');
    } else {
      this.#held = true;
      this.#connection.holdAutoRejoin();
    }
  };

  #recentAttempts(): number {
    const since = this.#clock.now() - this.#timing.attemptWindowMs;
    this.#attempts = this.#attempts.filter((t) => t > since);
    return this.#attempts.length;
  }

  /** The one line (warn) when the bot stops trying; the DM hears it from the voice manager's `left` event. */
  #giveUp(closeCode: number | undefined): void {
    this.#log.warn(
      {
        closeCode,
        attempts: this.#attempts.length,
        windowMs: this.#timing.attemptWindowMs,
      },
      'voice: could not reconnect; giving up',
    );
    this.destroy('reconnect_failed', closeCode);
  }

  /** After a Disconnected: wait for the library's own reconnect, else rejoin with backoff, else give up. */
  async #recover(): Promise<void> {
    this.#recovering = true;
    const conn = this.#connection;
    const S = VoiceConnectionStatus;
    const t = this.#timing;
    try {
      this.#setReconnecting(0);
      if (!this.#held) {
        try {
          // A move to another channel or a transient drop: the library signals again by itself.
          await entersState(conn, [S.Signalling, S.Connecting], t.signalWaitMs, this.#clock, [S.Destroyed]);
          await entersState(conn, S.Ready, t.readyTimeoutMs, this.#clock, [S.Disconnected, S.Destroyed]);
          return;
        } catch {
          // fall through: a real disconnect
        }
      }
      for (;;) {
        this.#held = false;
        if (this.#isDestroyed()) return;
        const code = closeCodeOf(conn.state);
        const final = code === undefined ? undefined : NO_RECONNECT_CODES.get(code);
        if (final) {
          this.#log.info(
            { closeCode: code, reason: final },
            'voice: disconnected for good; not reconnecting',
          );
          this.destroy(final, code);
          return;
        }
        const attempt = this.#recentAttempts() + 1;
        if (attempt > t.maxRejoinAttempts) {
          this.#giveUp(code ?? this.#lastCloseCode);
          return;
        }
        this.#setReconnecting(attempt);
        await sleep(this.#clock, Math.min(t.backoffBaseMs * 2 ** (attempt - 1), t.backoffMaxMs));
        if (this.#isDestroyed()) return;
        if (conn.state.status === S.Ready) return;
        this.#log.info({ attempt }, 'voice: rejoining');
        this.#attempts.push(this.#clock.now());
        conn.rejoin();
        try {
          await entersState(conn, S.Ready, t.readyTimeoutMs, this.#clock, [S.Disconnected, S.Destroyed]);
          return;
        } catch {
          // next attempt
        }
      }
    } finally {
      this.#recovering = false;
    }
  }

  #setReconnecting(attempt: number): void {
    const s = this.#state;
    if (s.status === GuildVoiceStatus.Destroyed) return;
    this.state = { status: GuildVoiceStatus.Reconnecting, channelId: s.channelId, attempt };
  }

  #isDestroyed(): boolean {
    return this.#state.status === GuildVoiceStatus.Destroyed;
  }
}

function closeCodeOf(state: ConnectionState): number | undefined {
  return state.status === VoiceConnectionStatus.Disconnected &&
    state.reason === VoiceConnectionDisconnectReason.WebSocketClose
    ? state.closeCode
    : undefined;
}
