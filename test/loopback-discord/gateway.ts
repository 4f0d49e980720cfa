import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

/** Gateway opcodes (Discord API v10). */
export const GatewayOp = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const;

/** A payload the bot sent on the gateway. */
export interface GatewayReceived {
  at: number;
  shard: number;
  op: number;
  d: unknown;
}

/** One gateway session (one shard's identify). */
export interface GatewaySession {
  id: string;
  shard: number;
  shardCount: number;
  seq: number;
  /** Dispatches sent (or buffered while disconnected), for resume. */
  sent: { s: number; t: string; d: unknown }[];
  socket: WebSocket | null;
}

/** What the gateway needs from the loopback. */
export interface GatewayHooks {
  now(): number;
  botToken: string;
  /** READY's payload fields for a shard (user, guild stubs, application). */
  ready(shard: number, shardCount: number): Record<string, unknown>;
  /** GUILD_CREATE payloads for a shard's guilds. */
  guildCreates(shard: number, shardCount: number): Record<string, unknown>[];
  /** An op 4 from the bot. */
  voiceStateUpdate(session: GatewaySession, d: Record<string, unknown>): void;
}

/**
 * The loopback's main gateway: JSON, no compression. Hello, identify →
 * READY + GUILD_CREATE, heartbeats, resume (replays what was missed),
 * reconnect (op 7) and invalid session on cue. Every payload from the bot is
 * recorded in `received`.
 */
export class LoopbackGateway extends EventEmitter {
  readonly received: GatewayReceived[] = [];
  readonly sessions = new Map<string, GatewaySession>();
  readonly #wss: WebSocketServer;
  heartbeatIntervalMs = 41_250;

  constructor(
    server: Server,
    private readonly hooks: GatewayHooks,
  ) {
    super();
    this.#wss = new WebSocketServer({ server });
    this.#wss.on('connection', (ws) => this.#accept(ws));
  }

  /** The live session of `shard` (the newest). */
  session(shard = 0): GatewaySession | undefined {
    return [...this.sessions.values()].filter((s) => s.shard === shard).at(-1);
  }

  /** Sends a dispatch on the session of the shard that owns a guild (buffered while it is disconnected). */
  dispatch(session: GatewaySession, t: string, d: unknown): void {
    const s = ++session.seq;
    session.sent.push({ s, t, d });
    session.socket?.send(JSON.stringify({ op: GatewayOp.Dispatch, t, s, d }));
  }

  /** Closes a shard's socket with `code` (4000: resumable "unknown error"); events sent meanwhile are buffered. */
  drop(shard = 0, code = 4000): void {
    const session = this.session(shard);
    session?.socket?.close(code, 'loopback drop');
    if (session) session.socket = null;
  }

  /** Asks the shard to reconnect (op 7). */
  requestReconnect(shard = 0): void {
    this.session(shard)?.socket?.send(JSON.stringify({ op: GatewayOp.Reconnect, d: null }));
  }

  /** Sends op 9 (invalid session). */
  invalidateSession(shard = 0, resumable = false): void {
    this.session(shard)?.socket?.send(JSON.stringify({ op: GatewayOp.InvalidSession, d: resumable }));
  }

  close(): void {
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
  }

  #accept(ws: WebSocket): void {
    let session: GatewaySession | null = null;
    const send = (p: unknown) => ws.send(JSON.stringify(p));
    send({ op: GatewayOp.Hello, d: { heartbeat_interval: this.heartbeatIntervalMs }, s: null, t: null });
    ws.on('close', () => {
      if (session?.socket === ws) session.socket = null;
    });
    ws.on('message', (raw, isBinary) => {
      if (isBinary) return ws.close(4002, 'binary payloads are not negotiated');
      let p: { op: number; d: Record<string, unknown> };
      try {
        p = JSON.parse(raw.toString()) as typeof p;
      } catch {
        return ws.close(4002, 'Error while decoding payload.');
      }
      this.received.push({ at: this.hooks.now(), shard: session?.shard ?? -1, op: p.op, d: p.d });
      switch (p.op) {
        case GatewayOp.Heartbeat:
          send({ op: GatewayOp.HeartbeatAck, d: null });
          break;
        case GatewayOp.Identify: {
          if (p.d.token !== this.hooks.botToken) return ws.close(4004, 'Authentication failed.');
          const [shard, shardCount] = (p.d.shard as [number, number] | undefined) ?? [0, 1];
          session = { id: randomUUID().replaceAll('-', ''), shard, shardCount, seq: 0, sent: [], socket: ws };
          this.sessions.set(session.id, session);
          this.dispatch(session, 'READY', {
            v: 10,
            session_id: session.id,
            resume_gateway_url: `ws://127.0.0.1:${(this.#wss.address() as { port: number } | null)?.port ?? 0}`,
            shard: [shard, shardCount],
            ...this.hooks.ready(shard, shardCount),
          });
          for (const g of this.hooks.guildCreates(shard, shardCount))
            this.dispatch(session, 'GUILD_CREATE', g);
          this.emit('identified', session);
          break;
        }
        case GatewayOp.Resume: {
          const old = this.sessions.get(String(p.d.session_id));
          if (!old || p.d.token !== this.hooks.botToken) {
            send({ op: GatewayOp.InvalidSession, d: false });
            break;
          }
          old.socket?.terminate();
          old.socket = ws;
          session = old;
          const after = Number(p.d.seq ?? 0);
          for (const e of old.sent.filter((e) => e.s > after))
            send({ op: GatewayOp.Dispatch, t: e.t, s: e.s, d: e.d });
          this.dispatch(old, 'RESUMED', {});
          this.emit('resumed', old);
          break;
        }
        case GatewayOp.VoiceStateUpdate:
          if (session) this.hooks.voiceStateUpdate(session, p.d);
          break;
        default:
          break;
      }
      this.emit('received');
    });
  }
}
