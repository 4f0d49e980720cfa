import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import {
  AudioPlayer,
  AudioPlayerStatus,
  AudioResource,
  NoSubscriberBehavior,
  StreamType,
  VoiceConnectionDisconnectReason,
  VoiceConnectionStatus,
  createAudioPlayer,
  createAudioResource,
  joinVoiceChannel,
  type DiscordGatewayAdapterCreator,
  type VoiceConnection,
  type VoiceConnectionState,
} from '@discordjs/voice';
import { GatewayOpcodes, PermissionFlagsBits, type Client } from 'discord.js';
import type { Logger } from '../../log';
import type {
  AudioPlayerPort,
  AudioResourcePort,
  ConnectionEvents,
  ConnectionState,
  JoinCheck,
  PlayerEvents,
  PlayerState,
  VoiceAdapter,
  VoiceConnectionPort,
} from './adapter';

/** Options for {@link DiscordVoiceAdapter}. */
export interface DiscordVoiceAdapterOptions {
  /**
   * `@discordjs/voice` tracks connections per (group, guild) in a module map;
   * a group of its own keeps two bot instances in one process apart.
   */
  group: string;
  log: Logger;
}

const NEEDED: [bigint, string][] = [
  [PermissionFlagsBits.ViewChannel, 'View Channel'],
  [PermissionFlagsBits.Connect, 'Connect'],
  [PermissionFlagsBits.Speak, 'Speak'],
];

/**
 * The real {@link VoiceAdapter} on `@discordjs/voice`. DAVE end-to-end
 * encryption stays at the library default (on): `daveEncryption` is never
 * passed. The player keeps reading when no connection is Ready
 * (`NoSubscriberBehavior.Play`) so a reconnect doesn't put Discord behind the
 * station, and never gives up on missed frames: an underrun is silence, the
 * station decides when a request has stalled.
 */
export class DiscordVoiceAdapter implements VoiceAdapter {
  constructor(
    private readonly client: Client,
    private readonly options: DiscordVoiceAdapterOptions,
  ) {}

  check(guildId: string, channelId: string): JoinCheck {
    const guild = this.client.guilds.cache.get(guildId);
    const channel = guild?.channels.cache.get(channelId);
    if (!guild || !channel || !channel.isVoiceBased()) return { ok: false, why: 'channel_not_found' };
    const me = guild.members.me;
    if (me) {
      const perms = channel.permissionsFor(me);
      const missing = NEEDED.filter(([bit]) => !perms.has(bit)).map(([, name]) => name);
      if (missing.length > 0) return { ok: false, why: 'missing_permissions', missing };
      if (channel.full && !perms.has(PermissionFlagsBits.MoveMembers))
        return { ok: false, why: 'channel_full' };
    }
    return { ok: true };
  }

  join(guildId: string, channelId: string): VoiceConnectionPort {
    const guild = this.client.guilds.cache.get(guildId);
    if (!guild) throw new Error(`guild ${guildId} is not in this shard's cache`);
    const gate: JoinGate = { hold: false };
    const connection = joinVoiceChannel({
      guildId,
      channelId,
      adapterCreator: gatedAdapter(guild.voiceAdapterCreator, gate),
      group: this.options.group,
      selfDeaf: true,
      selfMute: false,
    });
    return new DiscordConnection(connection, gate, this.options.log.child({ guild: guildId }));
  }

  createPlayer(): AudioPlayerPort {
    return new DiscordPlayer(
      createAudioPlayer({
        behaviors: { noSubscriber: NoSubscriberBehavior.Play, maxMissedFrames: Number.POSITIVE_INFINITY },
      }),
    );
  }

  createResource(oggOpus: Readable): AudioResourcePort {
    return createAudioResource(oggOpus, { inputType: StreamType.OggOpus });
  }
}

/** Lets {@link DiscordConnection.holdAutoRejoin} drop the library's next join. */
interface JoinGate {
  hold: boolean;
}

/**
 * discord.js's gateway adapter with a gate on joins: while `gate.hold` is
 * set, the next join (op 4 with a channel) is not sent and reported as
 * failed, which the library answers with Disconnected. Leaves always pass.
 */
function gatedAdapter(create: DiscordGatewayAdapterCreator, gate: JoinGate): DiscordGatewayAdapterCreator {
  return (methods) => {
    const inner = create(methods);
    return {
      sendPayload: (payload: unknown) => {
        if (gate.hold && isJoin(payload)) {
          gate.hold = false;
          return false;
        }
        return inner.sendPayload(payload);
      },
      destroy: () => inner.destroy(),
    };
  };
}

function isJoin(payload: unknown): boolean {
  const p = payload as { op?: unknown; d?: { channel_id?: unknown } } | null;
  return p?.op === GatewayOpcodes.VoiceStateUpdate && typeof p.d?.channel_id === 'string';
}

/**
 * A VoiceConnection behind the port, with the networking close codes
 * surfaced before the library acts on them (see `networkClose`).
 */
class DiscordConnection extends EventEmitter<ConnectionEvents> implements VoiceConnectionPort {
  readonly #watched = new WeakSet<object>();

  constructor(
    readonly connection: VoiceConnection,
    private readonly gate: JoinGate,
    log: Logger,
  ) {
    super();
    connection.on('stateChange', (oldState, newState) => {
      this.#watchNetworking(newState);
      this.emit('stateChange', toPort(oldState), toPort(newState));
    });
    // Errors also show up as state changes, which GuildVoice handles (and warns about when it
    // gives up); logged for context, not as warnings: a failing server repeats them per attempt.
    connection.on('error', (err) => log.info({ err }, 'voice: connection error'));
    this.#watchNetworking(connection.state);
  }

  get state(): ConnectionState {
    return toPort(this.connection.state);
  }

  get channelId(): string | null {
    return this.connection.joinConfig.channelId;
  }

  subscribe(player: AudioPlayerPort): void {
    if (!(player instanceof DiscordPlayer)) throw new TypeError('not a player from DiscordVoiceAdapter');
    this.connection.subscribe(player.player);
  }

  rejoin(channelId?: string): boolean {
    this.gate.hold = false;
    return this.connection.rejoin(
      channelId === undefined ? undefined : { channelId, selfDeaf: true, selfMute: false },
    );
  }

  holdAutoRejoin(): void {
    this.gate.hold = true;
  }

  destroy(): void {
    this.connection.destroy();
  }

  #watchNetworking(state: VoiceConnectionState): void {
    if (!('networking' in state) || this.#watched.has(state.networking)) return;
    this.#watched.add(state.networking);
    // First in line: the library's own listener re-sends a join the moment it runs.
    state.networking.prependListener('close', (code: number) => this.emit('networkClose', code));
  }
}

function toPort(state: VoiceConnectionState): ConnectionState {
  if (state.status !== VoiceConnectionStatus.Disconnected) return { status: state.status };
  return state.reason === VoiceConnectionDisconnectReason.WebSocketClose
    ? { status: state.status, reason: state.reason, closeCode: state.closeCode }
    : { status: state.status, reason: state.reason };
}

/**
 * An AudioPlayer behind the port.
 *
 * The player reads a packet on one 20 ms cycle and has each connection send
 * it on the next (`prepareAudioPacket`, then `dispatchAudio`). When it goes
 * Idle between the two (stop, skip, the end of a resource) it leaves the
 * cycle with that packet still prepared in the connection, and the next
 * `play` — maybe seconds later — sends it first: a stale frame of the
 * previous narration. So on every transition to Idle the prepared packet is
 * sent at once (it was due within 20 ms anyway) and the speaking flag that
 * sending raises is lowered again.
 */
class DiscordPlayer extends EventEmitter<PlayerEvents> implements AudioPlayerPort {
  constructor(readonly player: AudioPlayer) {
    super();
    player.on('stateChange', (o, n) => {
      if (n.status === AudioPlayerStatus.Idle && o.status !== AudioPlayerStatus.Idle) this.#sendPrepared();
      this.emit('stateChange', o as PlayerState, n as PlayerState);
    });
    player.on('error', (err) => this.emit('error', err));
  }

  #sendPrepared(): void {
    for (const connection of this.player.playable) {
      if (connection.dispatchAudio()) connection.setSpeaking(false);
    }
  }

  get state(): PlayerState {
    return this.player.state as PlayerState;
  }

  play(resource: AudioResourcePort): void {
    if (!(resource instanceof AudioResource)) throw new TypeError('not a resource from DiscordVoiceAdapter');
    this.player.play(resource);
  }

  pause(): boolean {
    return this.player.pause();
  }

  unpause(): boolean {
    return this.player.unpause();
  }

  stop(force?: boolean): boolean {
    return this.player.stop(force);
  }
}
