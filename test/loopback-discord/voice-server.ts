import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ipDiscoveryReply, isRtp, openRtp } from './rtp';

/** Voice gateway opcodes (v8). */
export const VoiceOp = {
  Identify: 0,
  SelectProtocol: 1,
  Ready: 2,
  Heartbeat: 3,
  SessionDescription: 4,
  Speaking: 5,
  HeartbeatAck: 6,
  Resume: 7,
  Hello: 8,
  Resumed: 9,
} as const;

/** Unix ms with sub-ms precision (the wall clock, whatever the loopback's clock says). */
export function realNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The only transport encryption mode the loopback decrypts; offered first. */
export const ENCRYPTION_MODE = 'aead_aes256_gcm_rtpsize';
/** What a silence frame looks like (`@discordjs/voice` sends five when the player stops). */
export const SILENCE_FRAME = Buffer.from([0xf8, 0xff, 0xfe]);

/** A voice server the loopback handed out in VOICE_SERVER_UPDATE. */
export interface VoiceGrant {
  guildId: string;
  userId: string;
  sessionId: string;
  token: string;
}

/** A decrypted RTP packet as it arrived. */
export interface VoicePacket {
  /** Arrival time, Unix ms with sub-ms precision. */
  at: number;
  guildId: string;
  ssrc: number;
  seq: number;
  timestamp: number;
  opus: Buffer;
  silence: boolean;
}

/** A message the bot sent on a voice gateway. */
export interface VoiceReceived {
  at: number;
  guildId: string;
  op: number;
  d: unknown;
}

/** One voice WebSocket session. */
export interface VoiceSession {
  guildId: string;
  grant: VoiceGrant;
  ssrc: number;
  secretKey: Buffer | null;
  mode: string | null;
  socket: WebSocket | null;
  /** The DAVE protocol version the client offered in identify. */
  offeredDave: number | null;
  seq: number;
}

/**
 * The loopback's voice side: the voice gateway v8 over TLS (hello, identify,
 * ready, select protocol, session description with DAVE protocol version 0,
 * speaking, heartbeats with `seq_ack`, resume) and the UDP server (IP
 * discovery, keep-alives, RTP decryption with `aead_aes256_gcm_rtpsize`).
 * It can close any voice socket with any code, refuse identifies with a
 * code, and drop UDP for a while.
 */
export class LoopbackVoice extends EventEmitter {
  readonly packets: VoicePacket[] = [];
  readonly received: VoiceReceived[] = [];
  /** Close codes sent, in order. */
  readonly closes: { at: number; guildId: string; code: number }[] = [];
  readonly grants = new Map<string, VoiceGrant>();
  readonly sessions: VoiceSession[] = [];
  /** When set, every identify for these guilds is answered with this close code. */
  readonly closeOnIdentify = new Map<string, number>();
  keepAlives = 0;
  #udpDropUntil = 0;
  readonly #https: Server;
  readonly #wss: WebSocketServer;
  readonly #udp = dgram.createSocket('udp4');
  #nextSsrc = 1000;

  constructor(
    tls: { cert: Buffer; key: Buffer },
    private readonly now: () => number,
  ) {
    super();
    this.#https = createServer({ cert: tls.cert, key: tls.key });
    this.#wss = new WebSocketServer({ server: this.#https });
    this.#wss.on('connection', (ws) => this.#accept(ws));
    this.#udp.on('message', (msg, rinfo) => this.#onUdp(msg, rinfo));
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.#https.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => this.#udp.bind(0, '127.0.0.1', r));
  }

  /** `host:port` for VOICE_SERVER_UPDATE's endpoint. */
  get endpoint(): string {
    return `127.0.0.1:${(this.#https.address() as AddressInfo).port}`;
  }

  get udpPort(): number {
    return this.#udp.address().port;
  }

  /** Issues a voice token for a session. */
  grant(guildId: string, userId: string, sessionId: string): VoiceGrant {
    const g: VoiceGrant = { guildId, userId, sessionId, token: randomBytes(8).toString('hex') };
    this.grants.set(g.token, g);
    return g;
  }

  /** The live voice session of a guild. */
  session(guildId: string): VoiceSession | undefined {
    return this.sessions.filter((s) => s.guildId === guildId && s.socket).at(-1);
  }

  /** Closes a guild's voice WebSocket with `code`. */
  closeSession(guildId: string, code: number): void {
    const s = this.session(guildId);
    if (!s?.socket) return;
    this.closes.push({ at: this.now(), guildId, code });
    s.socket.close(code, `loopback close ${code}`);
    s.socket = null;
  }

  /** Drops every UDP datagram (both ways) for `ms`. */
  dropUdp(ms: number): Promise<void> {
    this.#udpDropUntil = realNow() + ms;
    // The outage is one of real time (the app's own timers see it): this resolves when it ends.
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Packets of one guild. */
  packetsOf(guildId: string): VoicePacket[] {
    return this.packets.filter((p) => p.guildId === guildId);
  }

  close(): void {
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
    this.#https.close();
    this.#udp.close();
  }

  #accept(ws: WebSocket): void {
    let session: VoiceSession | null = null;
    const send = (p: Record<string, unknown>, sequenced = true) => {
      if (sequenced && session) p.seq = ++session.seq;
      ws.send(JSON.stringify(p));
    };
    send({ op: VoiceOp.Hello, d: { v: 8, heartbeat_interval: 13_750 } }, false);
    ws.on('close', () => {
      if (session?.socket === ws) session.socket = null;
    });
    ws.on('message', (raw, isBinary) => {
      if (isBinary) return; // DAVE binary opcodes: not negotiated (protocol version 0)
      let p: { op: number; d: Record<string, unknown> };
      try {
        p = JSON.parse(raw.toString()) as typeof p;
      } catch {
        return ws.close(4002, 'Failed to decode payload');
      }
      const guildId = String(p.d?.server_id ?? session?.guildId ?? '');
      this.received.push({ at: this.now(), guildId, op: p.op, d: p.d });
      switch (p.op) {
        case VoiceOp.Identify: {
          const grant = this.grants.get(String(p.d.token));
          if (!grant || grant.guildId !== p.d.server_id || grant.sessionId !== p.d.session_id)
            return ws.close(4004, 'Authentication failed');
          const code = this.closeOnIdentify.get(grant.guildId);
          if (code !== undefined) {
            this.closes.push({ at: this.now(), guildId: grant.guildId, code });
            return ws.close(code, `loopback refuses identify (${code})`);
          }
          session = {
            guildId: grant.guildId,
            grant,
            ssrc: this.#nextSsrc++,
            secretKey: null,
            mode: null,
            socket: ws,
            offeredDave:
              typeof p.d.max_dave_protocol_version === 'number' ? p.d.max_dave_protocol_version : null,
            seq: 0,
          };
          this.sessions.push(session);
          send({
            op: VoiceOp.Ready,
            d: {
              ssrc: session.ssrc,
              ip: '127.0.0.1',
              port: this.udpPort,
              modes: [ENCRYPTION_MODE, 'aead_xchacha20_poly1305_rtpsize'],
              heartbeat_interval: 1, // ignored by clients: Hello's interval counts
            },
          });
          break;
        }
        case VoiceOp.SelectProtocol: {
          if (!session) return ws.close(4003, 'Not authenticated');
          const data = p.d.data as { mode?: string } | undefined;
          if (data?.mode !== ENCRYPTION_MODE) return ws.close(4016, 'Unknown encryption mode');
          session.mode = data.mode;
          session.secretKey = randomBytes(32);
          send({
            op: VoiceOp.SessionDescription,
            d: {
              mode: session.mode,
              secret_key: [...session.secretKey],
              // The client offered DAVE; version 0 runs this session without E2EE.
              dave_protocol_version: 0,
              audio_codec: 'opus',
              media_session_id: randomBytes(8).toString('hex'),
            },
          });
          this.emit('ready', session);
          break;
        }
        case VoiceOp.Heartbeat:
          send({ op: VoiceOp.HeartbeatAck, d: { t: p.d.t } }, false);
          break;
        case VoiceOp.Resume: {
          const old = this.sessions.find(
            (s) =>
              s.guildId === p.d.server_id &&
              s.grant.sessionId === p.d.session_id &&
              s.grant.token === p.d.token,
          );
          if (!old) return ws.close(4006, 'Session is no longer valid');
          old.socket?.terminate();
          old.socket = ws;
          session = old;
          send({ op: VoiceOp.Resumed, d: null });
          this.emit('resumed', old);
          break;
        }
        default:
          break;
      }
      this.emit('received');
    });
  }

  #onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const at = realNow();
    if (at < this.#udpDropUntil) return;
    const discovery = ipDiscoveryReply(msg, rinfo);
    if (discovery) {
      this.#udp.send(discovery, rinfo.port, rinfo.address);
      return;
    }
    if (msg.length === 8) {
      this.keepAlives++;
      return;
    }
    if (!isRtp(msg)) return;
    const ssrc = msg.readUInt32BE(8);
    const session = this.sessions.findLast((s) => s.ssrc === ssrc);
    if (!session?.secretKey) return;
    let payload: Buffer;
    try {
      payload = openRtp(msg, session.secretKey);
    } catch {
      this.emit('decryptError', session);
      return;
    }
    this.packets.push({
      at,
      guildId: session.guildId,
      ssrc,
      seq: msg.readUInt16BE(2),
      timestamp: msg.readUInt32BE(4),
      opus: payload,
      silence: payload.equals(SILENCE_FRAME),
    });
    this.emit('packet');
  }
}
