/**
 * One listener's WebSocket: its row in `websocket_connections`, what it was
 * sent and played (`connection_playback_states`), its message budget and its
 * send buffer bound. ACKs are recorded here and go nowhere near the station.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { TokenClaims, TokenRole } from '../../auth';
import type { DeliveryField } from '../../playback';
import type { WebContext } from '../context';
import type { ErrorCode } from '../errors';
import { findChunk } from '../lookup';
import {
  errorMessage,
  heartbeatAck,
  parseClientMessage,
  type AudioPlayedMessage,
  type ServerMessage,
} from '../protocol';

/** Close codes this server uses. */
export const CloseCode = {
  GoingAway: 1001,
  PolicyViolation: 1008,
  TryAgainLater: 1013,
  /**
   * The same tab (same token and client id, or the same token without a
   * client id) connected again; this (older) connection is replaced.
   */
  Superseded: 4001,
  /** The token expired while the connection was open; the reason says so, the page shows it. */
  TokenExpired: 4401,
} as const;

/** The close reason (and `error` message) when a connection's token expires. */
export const TOKEN_EXPIRED_REASON = 'The link has expired; ask the DM for a fresh one.';

/**
 * A page's per-tab id (`client` on the WebSocket URL): random, kept in the
 * tab's sessionStorage. Letters, digits, `_` and `-`, 8 to 64 characters.
 */
export const CLIENT_ID_RE = /^[A-Za-z0-9_-]{8,64}$/;

/**
 * What decides which older connection a new one replaces: the token's id,
 * plus the tab's client id when the page sent one. A listener link shared by
 * the whole table then gives every tab its own key (nobody kicks anybody),
 * while a tab that reconnects still replaces its own half-dead connection.
 * Stored as `websocket_connections.token_id` (a token nonce has no `:`), so
 * `supersedeConnections` matches exactly the same tab.
 */
export function supersedeKey(tokenId: string, clientId: string | null): string {
  return clientId === null ? tokenId : `${tokenId}:${clientId}`;
}

/** Why a connection was dropped by the server. */
export type DropReason = 'slow' | 'abuse' | 'dead';

/** Remembers at most `max` ids, forgetting the oldest; allocated on first use (thousands of listeners hold one). */
class BoundedSet {
  #set: Set<string> | null = null;
  constructor(private readonly max: number) {}
  has(id: string): boolean {
    return this.#set?.has(id) ?? false;
  }
  delete(id: string): void {
    this.#set?.delete(id);
  }
  add(id: string): void {
    const set = (this.#set ??= new Set());
    set.add(id);
    if (set.size > this.max) set.delete(set.values().next().value as string);
  }
}

/** Seams the hub gives a connection. */
export interface ConnectionHooks {
  /** Called once the socket is gone (any reason). */
  onClosed(connection: ClientConnection): void;
  onDropped(reason: DropReason): void;
}

/** A registered WebSocket connection. */
export class ClientConnection {
  readonly campaignId: string;
  /** The token's id (its nonce): every tab that opened the same link shares it. */
  readonly tokenId: string;
  /** The page's per-tab id, when it sent one. */
  readonly clientId: string | null;
  /** See {@link supersedeKey}. */
  readonly supersedeKey: string;
  readonly kind: 'PLAYER' | 'DM';
  /** The token's role: what this connection may read (protocol.ts `Viewer`). */
  readonly role: TokenRole;
  /** When the token expires (clock ms): the hub closes the connection then. */
  readonly expiresAtMs: number;
  /** Cleared by each ping, set by each pong: a connection that stays false missed a pong. */
  alive = true;
  readonly #ws: WebSocket;
  /** The upgraded socket under {@link #ws}: broadcasts write frames built once straight to it. */
  readonly #socket: Duplex;
  readonly #ctx: WebContext;
  readonly #hooks: ConnectionHooks;
  /**
   * Chunks this connection was told about, while their request is live (the
   * hub calls {@link forgetSent} when it ends); bounded as a safety net.
   */
  readonly #sent = new BoundedSet(1024);
  /** Recent ACKs, so a repeated ACK is not written twice. */
  readonly #played = new BoundedSet(64);
  /** Settles once the connection row is written: delivery rows refer to it. */
  readonly #registered: Promise<void>;
  /** True once {@link #registered} settled: deliveries go straight to the log. */
  #rowWritten = false;
  #window = { start: 0, total: 0, bad: 0 };
  #lastHeartbeatWrite: number;
  #endStatus: 'SUPERSEDED' | 'FAILED' | 'DISCONNECTED' | null = null;
  #closed = false;
  #resolveClosed: () => void = () => {};
  /** Settles once the socket is closed. */
  readonly whenClosed = new Promise<void>((resolve) => (this.#resolveClosed = resolve));

  constructor(
    readonly id: string,
    ws: WebSocket,
    socket: Duplex,
    claims: TokenClaims,
    campaignId: string,
    clientId: string | null,
    ctx: WebContext,
    hooks: ConnectionHooks,
  ) {
    this.#ws = ws;
    this.#socket = socket;
    this.#ctx = ctx;
    this.#hooks = hooks;
    this.campaignId = campaignId;
    this.tokenId = claims.tokenId;
    this.clientId = clientId;
    this.supersedeKey = supersedeKey(claims.tokenId, clientId);
    this.role = claims.role;
    this.kind = claims.role === 'dm' ? 'DM' : 'PLAYER';
    const now = ctx.clock.now();
    this.#lastHeartbeatWrite = now;
    this.#window.start = now;
    const at = new Date(now);
    // Batched with every other connection's (ConnectionLog): nothing here waits for the database.
    this.#registered = ctx.connections.opened({
      id,
      campaignId,
      tokenId: this.supersedeKey,
      kind: this.kind,
      status: 'CONNECTED',
      connectedAt: at,
      lastHeartbeat: at,
      disconnectedAt: null,
    });
    void this.#registered.then(() => (this.#rowWritten = true));
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.on('pong', () => {
      this.alive = true;
      this.#touch();
    });
    ws.on('error', (err) => ctx.log.debug({ err, connection: id }, 'WebSocket error'));
    ws.on('close', () => this.#onClose());
    this.expiresAtMs = claims.expiresAt * 1000;
  }

  /**
   * The token expired (the hub's one timer for all connections says when):
   * closes with 4401 and the reason the page shows. A link that expired must
   * not keep listening.
   */
  expire(): void {
    if (this.#closed || this.#endStatus) return;
    this.#endStatus = 'DISCONNECTED';
    this.#ctx.log.info({ connection: this.id, campaign: this.campaignId }, 'WebSocket token expired');
    this.send(errorMessage('unauthorized', TOKEN_EXPIRED_REASON));
    this.#ws.close(CloseCode.TokenExpired, TOKEN_EXPIRED_REASON);
    this.#forceCloseLater();
  }

  get open(): boolean {
    return !this.#closed && this.#ws.readyState === this.#ws.OPEN;
  }

  /** Resolves when every write issued so far is durable (tests). */
  async flushed(): Promise<void> {
    await this.#ctx.connections.flush();
    await this.#registered;
    await this.#ctx.deliveries.flush();
  }

  /** Sends a serialised message; drops the connection instead of buffering past the bound. */
  sendRaw(json: string): boolean {
    if (!this.#room(json.length)) return false;
    this.#ws.send(json);
    return true;
  }

  send(message: ServerMessage): boolean {
    return this.sendRaw(JSON.stringify(message));
  }

  /**
   * Sends complete text frames built once for many connections
   * (`encodeTextFrames`) in one socket write; the same bound as {@link sendRaw}.
   * `ws` writes its own frames to the same socket synchronously, so frames
   * never interleave and order is call order.
   */
  sendFrames(frames: Buffer): boolean {
    if (!this.#room(frames.length)) return false;
    this.#socket.write(frames);
    return true;
  }

  /** True when `bytes` more may be sent; false when closed, or dropped for a full buffer. */
  #room(bytes: number): boolean {
    if (!this.open) return false;
    if (this.#ws.bufferedAmount + bytes > this.#ctx.limits.wsMaxBufferedBytes) {
      this.drop('slow', CloseCode.TryAgainLater, 'slow consumer');
      return false;
    }
    return true;
  }

  /** Records `sentAt` (default now) for chunks this connection was told about (once per chunk). */
  markSent(chunkIds: readonly string[], at?: Date): void {
    let when = at;
    for (const chunkId of chunkIds) {
      if (this.#sent.has(chunkId)) continue;
      this.#sent.add(chunkId);
      when ??= new Date(this.#ctx.clock.now());
      this.#recordDelivery('sentAt', chunkId, when);
    }
  }

  /** Forgets chunks of a request that ended: they are not announced again. */
  forgetSent(chunkIds: readonly string[]): void {
    for (const id of chunkIds) this.#sent.delete(id);
  }

  /** Records that this connection's client played `chunkId` (WebSocket or HTTP fallback ACK). */
  markPlayed(chunkId: string): void {
    if (this.#played.has(chunkId)) return;
    this.#played.add(chunkId);
    const at = new Date(this.#ctx.clock.now());
    this.#recordDelivery('acknowledgedAt', chunkId, at);
    this.#recordDelivery('playedAt', chunkId, at);
  }

  /** The same tab connected again: this connection ends SUPERSEDED (written by the new one). */
  supersede(): void {
    this.#endStatus = 'SUPERSEDED';
    this.#ws.close(CloseCode.Superseded, 'superseded by a newer connection');
    this.#forceCloseLater();
  }

  /** Closes for a reason of ours; the row ends FAILED. */
  drop(reason: DropReason, code: number, why: string): void {
    if (this.#endStatus) return;
    this.#endStatus = 'FAILED';
    this.#hooks.onDropped(reason);
    this.#ctx.log.info(
      { connection: this.id, campaign: this.campaignId, reason },
      'dropping a WebSocket client',
    );
    if (reason === 'dead') this.#ws.terminate();
    else {
      this.#ws.close(code, why);
      this.#forceCloseLater();
    }
  }

  /** Transport keep-alive probe; the pong marks the connection {@link alive}. */
  ping(): void {
    if (this.open) this.#ws.ping();
  }

  /** Server shutdown. */
  goAway(): void {
    this.#ws.close(CloseCode.GoingAway, 'server shutting down');
    this.#forceCloseLater();
  }

  /** A close handshake can't get through a full buffer: cut the socket if it hasn't closed soon. */
  #forceCloseLater(): void {
    setTimeout(() => {
      if (this.#ws.readyState !== this.#ws.CLOSED) this.#ws.terminate();
    }, 2_000).unref();
  }

  /** Batched with every other listener's (see DeliveryLog), after this connection's row exists. */
  #recordDelivery(field: DeliveryField, chunkId: string, at: Date): void {
    if (this.#rowWritten) this.#ctx.deliveries.record(field, this.id, chunkId, at);
    else void this.#registered.then(() => this.#ctx.deliveries.record(field, this.id, chunkId, at));
  }

  /** Liveness: `last_heartbeat` in memory always, in the database at most every few seconds. */
  #touch(): void {
    const now = this.#ctx.clock.now();
    if (now - this.#lastHeartbeatWrite < this.#ctx.limits.heartbeatWriteIntervalMs) return;
    this.#lastHeartbeatWrite = now;
    this.#ctx.connections.heartbeat(this.id, new Date(now));
  }

  #error(code: ErrorCode, message: string): void {
    this.send(errorMessage(code, message));
  }

  /** Counts a message against the per-minute budgets; false when the connection was closed for abuse. */
  #budget(bad: boolean): boolean {
    const now = this.#ctx.clock.now();
    const w = this.#window;
    if (now - w.start >= 60_000) this.#window = { start: now, total: 0, bad: 0 };
    this.#window.total++;
    if (bad) this.#window.bad++;
    const limits = this.#ctx.limits;
    if (this.#window.bad > limits.wsBadMessagesPerMinute || this.#window.total > limits.wsMessagesPerMinute) {
      this.#error('rate_limited', 'Too many messages; closing the connection.');
      this.drop('abuse', CloseCode.PolicyViolation, 'too many messages');
      return false;
    }
    return true;
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#closed || this.#endStatus) return;
    const parsed = parseClientMessage(data, isBinary, this.#ctx.limits.wsMessageBytes);
    if (!this.#budget(!parsed.ok)) return;
    if (!parsed.ok) {
      this.#error(parsed.problem.code, parsed.problem.message);
      return;
    }
    const message = parsed.message;
    if (message.type === 'heartbeat') {
      this.send(heartbeatAck(this.#ctx.clock.now(), message.client_time));
      this.#touch();
    } else {
      void this.#onPlayed(message);
    }
  }

  async #onPlayed(message: AudioPlayedMessage): Promise<void> {
    if (message.campaign_id !== this.campaignId) {
      this.#error('forbidden', 'This connection belongs to another campaign.');
      return;
    }
    const unknown: string[] = [];
    for (const chunkId of new Set(message.chunk_ids)) {
      if (this.#sent.has(chunkId) || this.#played.has(chunkId)) {
        this.markPlayed(chunkId);
        continue;
      }
      const found = await findChunk(this.#ctx.engine, chunkId).catch(() => null);
      if (found && found.campaignId === this.campaignId) this.markPlayed(chunkId);
      else unknown.push(chunkId);
    }
    if (unknown.length > 0) {
      this.#error(
        'not_found',
        `Unknown chunk${unknown.length > 1 ? 's' : ''}: ${unknown.slice(0, 5).join(', ')}.`,
      );
    }
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    const status = this.#endStatus ?? 'DISCONNECTED';
    if (status !== 'SUPERSEDED') {
      this.#ctx.connections.closed(this.id, status, new Date(this.#ctx.clock.now()));
    }
    this.#hooks.onClosed(this);
    this.#resolveClosed();
  }
}
