import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type {
  AudioPlayerStatus,
  VoiceConnectionDisconnectReason,
  VoiceConnectionStatus,
} from '@discordjs/voice';

/**
 * The `@discordjs/voice` seam: the little of VoiceConnection, AudioPlayer and
 * AudioResource that the sink uses. `DiscordVoiceAdapter` wraps the real
 * library around it; tests drive a fake.
 */

/** A voice connection's state, as the sink sees it. */
export type ConnectionState =
  | { status: Exclude<VoiceConnectionStatus, VoiceConnectionStatus.Disconnected> }
  | {
      status: VoiceConnectionStatus.Disconnected;
      reason: VoiceConnectionDisconnectReason;
      /** The voice WebSocket's close code, when that is why it disconnected. */
      closeCode?: number;
    };

/** Events of a {@link VoiceConnectionPort}. */
export interface ConnectionEvents {
  stateChange: [oldState: ConnectionState, newState: ConnectionState];
  /**
   * The voice WebSocket closed with `code`, reported BEFORE the library
   * handles it: on every code but 4014 the library at once sends a new join
   * (op 4) by itself. A listener can still stop that: destroy the connection
   * (4021, 4022: no join is sent), or {@link VoiceConnectionPort.holdAutoRejoin}.
   */
  networkClose: [code: number];
}

/** One guild's voice connection. */
export interface VoiceConnectionPort extends EventEmitter<ConnectionEvents> {
  readonly state: ConnectionState;
  /** The channel it is (or is trying to be) in; changes when someone drags the bot. */
  readonly channelId: string | null;
  subscribe(player: AudioPlayerPort): void;
  /**
   * Asks Discord to put the bot back in its channel (Disconnected →
   * Signalling), or with `channelId`, to move it there without leaving first.
   */
  rejoin(channelId?: string): boolean;
  /**
   * Only from a `networkClose` listener: the join the library is about to
   * send for this close is not sent; the connection goes Disconnected
   * instead, and the caller rejoins when it sees fit (backoff).
   */
  holdAutoRejoin(): void;
  destroy(): void;
}

/** What an AudioPlayer plays. */
export interface AudioResourcePort {
  /** The stream is fully read (or destroyed). */
  readonly ended: boolean;
}

/** An AudioPlayer's state, as the sink sees it. */
export type PlayerState =
  | { status: AudioPlayerStatus.Idle }
  | {
      status: Exclude<AudioPlayerStatus, AudioPlayerStatus.Idle>;
      resource: AudioResourcePort;
    };

/** Events of an {@link AudioPlayerPort}. */
export interface PlayerEvents {
  stateChange: [oldState: PlayerState, newState: PlayerState];
  error: [error: Error];
}

/** One guild's audio player. */
export interface AudioPlayerPort extends EventEmitter<PlayerEvents> {
  readonly state: PlayerState;
  play(resource: AudioResourcePort): void;
  pause(): boolean;
  unpause(): boolean;
  /** `force` skips the resource's trailing silence frames. */
  stop(force?: boolean): boolean;
}

/** Whether the bot can join a channel, checked before trying. */
export type JoinCheck =
  | { ok: true }
  | { ok: false; why: 'missing_permissions'; missing: string[] }
  | { ok: false; why: 'channel_not_found' | 'channel_full' };

/** Creates connections, players and resources. */
export interface VoiceAdapter {
  /** Can the bot join `channelId` (exists, is voice, permissions, room)? */
  check(guildId: string, channelId: string): JoinCheck;
  /** Starts joining; the connection reports Ready when it carries audio. */
  join(guildId: string, channelId: string): VoiceConnectionPort;
  createPlayer(): AudioPlayerPort;
  /** Wraps an Ogg Opus byte stream (demuxed only, never transcoded). */
  createResource(oggOpus: Readable): AudioResourcePort;
}
