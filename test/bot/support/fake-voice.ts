import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { AudioPlayerStatus, VoiceConnectionDisconnectReason, VoiceConnectionStatus } from '@discordjs/voice';
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
} from '../../../src/bot/voice';
import { demuxTags } from './opus';

/** A voice connection the test drives: `ready()`, `disconnect(code)`, `networkClose(code)`. */
export class FakeConnection extends EventEmitter<ConnectionEvents> implements VoiceConnectionPort {
  state: ConnectionState = { status: VoiceConnectionStatus.Signalling };
  rejoins = 0;
  /** Joins the library sent by itself after a close (what @discordjs/voice does on every code but 4014). */
  autoRejoins = 0;
  /** Gateway payloads (op 4) in order: `join <channel>` or `leave`. */
  readonly payloads: string[] = [];
  #hold = false;
  subscribed: AudioPlayerPort | null = null;
  /** What a rejoin does; default: back to Signalling and nothing more (the test decides). */
  onRejoin: (c: FakeConnection) => void = () => undefined;

  constructor(
    readonly guildId: string,
    public channelId: string,
  ) {
    super();
    this.payloads.push(`join ${channelId}`);
  }

  set(next: ConnectionState): void {
    const old = this.state;
    this.state = next;
    this.emit('stateChange', old, next);
  }

  ready(channelId = this.channelId): void {
    this.channelId = channelId;
    this.set({ status: VoiceConnectionStatus.Ready });
  }

  signalling(): void {
    this.set({ status: VoiceConnectionStatus.Signalling });
  }

  disconnect(closeCode?: number): void {
    this.set(
      closeCode === undefined
        ? {
            status: VoiceConnectionStatus.Disconnected,
            reason: VoiceConnectionDisconnectReason.AdapterUnavailable,
          }
        : {
            status: VoiceConnectionStatus.Disconnected,
            reason: VoiceConnectionDisconnectReason.WebSocketClose,
            closeCode,
          },
    );
  }

  /**
   * The voice WebSocket closed with `code`, as @discordjs/voice 0.19 handles
   * it: listeners first (the port's contract), then, unless destroyed, 4014 →
   * Disconnected; any other code → Signalling and a join sent at once (or,
   * when held, not sent → Disconnected).
   */
  networkClose(code: number): void {
    this.emit('networkClose', code);
    if (this.destroyed) return;
    if (code === 4014) {
      this.disconnect(4014);
      return;
    }
    this.signalling();
    if (this.#hold) {
      this.#hold = false;
      this.set({
        status: VoiceConnectionStatus.Disconnected,
        reason: VoiceConnectionDisconnectReason.AdapterUnavailable,
      });
      return;
    }
    this.autoRejoins++;
    this.payloads.push(`join ${this.channelId}`);
    this.onRejoin(this);
  }

  holdAutoRejoin(): void {
    this.#hold = true;
  }

  subscribe(player: AudioPlayerPort): void {
    this.subscribed = player;
  }

  rejoin(channelId?: string): boolean {
    if (this.state.status === VoiceConnectionStatus.Destroyed) return false;
    this.#hold = false;
    this.rejoins++;
    if (channelId !== undefined) this.channelId = channelId;
    this.payloads.push(`join ${this.channelId}`);
    // Like the library: a Ready connection stays Ready until Discord answers.
    if (this.state.status !== VoiceConnectionStatus.Ready) this.signalling();
    this.onRejoin(this);
    return true;
  }

  destroy(): void {
    this.payloads.push('leave');
    this.set({ status: VoiceConnectionStatus.Destroyed });
  }

  get destroyed(): boolean {
    return this.state.status === VoiceConnectionStatus.Destroyed;
  }
}

/**
 * A resource that records the bytes written to its stream and when it was
 * made. Like the real one, it has `ended` once the player has played the
 * stream out ({@link FakePlayer.drained}) or the stream was destroyed.
 */
export class FakeResource implements AudioResourcePort {
  readonly chunks: Buffer[] = [];
  streamEnded = false;
  playedOut = false;

  constructor(
    readonly stream: Readable,
    readonly createdAt: number,
  ) {
    stream.on('data', (b: Buffer) => this.chunks.push(b));
    stream.on('end', () => (this.streamEnded = true));
  }

  get ended(): boolean {
    // A stream destroyed before its end was cut (skip/stop); one that ended is only read, not yet played.
    return this.playedOut || (this.stream.destroyed && !this.streamEnded);
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Packets demuxed by prism-media, as `"tag:index"`. */
  tags(): Promise<string[]> {
    return demuxTags(this.bytes);
  }
}

/** An AudioPlayer that records what it was told, in order, with the fake time. */
export class FakePlayer extends EventEmitter<PlayerEvents> implements AudioPlayerPort {
  state: PlayerState = { status: AudioPlayerStatus.Idle };
  readonly calls: string[] = [];

  constructor(private readonly now: () => number) {
    super();
  }

  #set(next: PlayerState): void {
    const old = this.state;
    this.state = next;
    this.emit('stateChange', old, next);
  }

  get resource(): FakeResource | null {
    return this.state.status === AudioPlayerStatus.Idle ? null : (this.state.resource as FakeResource);
  }

  play(resource: AudioResourcePort): void {
    this.calls.push(`${this.now()} play`);
    this.#set({ status: AudioPlayerStatus.Playing, resource });
  }

  pause(): boolean {
    this.calls.push(`${this.now()} pause`);
    if (this.state.status !== AudioPlayerStatus.Playing) return false;
    this.#set({ status: AudioPlayerStatus.Paused, resource: this.state.resource });
    return true;
  }

  unpause(): boolean {
    this.calls.push(`${this.now()} unpause`);
    if (this.state.status !== AudioPlayerStatus.Paused) return false;
    this.#set({ status: AudioPlayerStatus.Playing, resource: this.state.resource });
    return true;
  }

  stop(force = false): boolean {
    this.calls.push(`${this.now()} stop${force ? ' force' : ''}`);
    if (this.state.status === AudioPlayerStatus.Idle) return false;
    this.#set({ status: AudioPlayerStatus.Idle });
    return true;
  }

  /** The resource's stream has been played out: the real player goes Idle. */
  drained(): void {
    if (this.state.status === AudioPlayerStatus.Idle) return;
    (this.state.resource as FakeResource).playedOut = true;
    this.#set({ status: AudioPlayerStatus.Idle });
  }
}

/** The fake `@discordjs/voice`: records every connection, player and resource. */
export class FakeVoiceAdapter implements VoiceAdapter {
  readonly connections: FakeConnection[] = [];
  readonly players: FakePlayer[] = [];
  readonly resources: FakeResource[] = [];
  /** What `check` answers. */
  checkResult: JoinCheck = { ok: true };
  /** Connections become Ready on their own (a microtask after join). */
  autoReady = true;

  constructor(private readonly now: () => number) {}

  check(): JoinCheck {
    return this.checkResult;
  }

  join(guildId: string, channelId: string): FakeConnection {
    const c = new FakeConnection(guildId, channelId);
    this.connections.push(c);
    if (this.autoReady)
      queueMicrotask(() => c.state.status === VoiceConnectionStatus.Signalling && c.ready());
    return c;
  }

  createPlayer(): FakePlayer {
    const p = new FakePlayer(this.now);
    this.players.push(p);
    return p;
  }

  createResource(stream: Readable): FakeResource {
    const r = new FakeResource(stream, this.now());
    this.resources.push(r);
    return r;
  }

  /** The newest connection (of a guild). */
  connection(guildId?: string): FakeConnection {
    const list = guildId ? this.connections.filter((c) => c.guildId === guildId) : this.connections;
    const c = list.at(-1);
    if (!c) throw new Error('no connection yet');
    return c;
  }

  player(): FakePlayer {
    const p = this.players.at(-1);
    if (!p) throw new Error('no player yet');
    return p;
  }
}
