/**
 * The WebSocket side of the web companion: authenticates upgrades on `/ws`,
 * keeps the connections of each campaign, greets a new connection with the
 * station's state (late-join) and broadcasts station events as protocol
 * messages. Queue and schedule updates are coalesced per campaign to one
 * message per turn of the event loop (a chunk arriving fires several events).
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { TokenClaims } from '../../auth';
import { ChunkStatus, type QueueEntry, type Station } from '../../playback';
import { readToken, requireAccess, verifyToken } from '../auth';
import type { WebContext } from '../context';
import { errorBody, HttpError } from '../errors';
import {
  audioChunkReady,
  audioStreamStarted,
  audioStreamStopped,
  connectionRegistered,
  onAirText,
  playbackQueueUpdated,
  stationSchedule,
  type ServerMessage,
  type Viewer,
} from '../protocol';
import { CAMPAIGN_ID_RE } from '../schemas';
import type { StationEvent } from '../station-feed';
import { onAirView, queueView, readyChunkIds } from '../views';
import { CLIENT_ID_RE, ClientConnection, type DropReason } from './connection';

interface CampaignRoom {
  connections: Set<ClientConnection>;
  unsubscribe: () => void;
  dirtySchedule: boolean;
  dirtyQueue: boolean;
  flushQueued: boolean;
}

/** Map key of a (campaign, token id or supersede key) pair. */
const tokenKey = (campaignId: string, id: string) => `${campaignId}\n${id}`;

/** Where a (re)started request begins: after its chunks already PLAYED (index and milliseconds). */
function resumePoint(entry: QueueEntry | undefined): { index: number; positionMs: number } {
  let index = 0;
  let positionMs = 0;
  for (const chunk of entry?.chunks ?? []) {
    if (chunk?.status !== ChunkStatus.Played) break;
    positionMs += chunk.durationMs;
    index++;
  }
  return { index, positionMs };
}

/** A message built per viewer: players and the DM may read different texts (protocol.ts `Viewer`). */
type PerViewer = (viewer: Viewer) => ServerMessage;

/** Connections by campaign, broadcasting the campaign's station. */
export class WebSocketHub {
  readonly #ctx: WebContext;
  readonly #wss: WebSocketServer;
  readonly #rooms = new Map<string, CampaignRoom>();
  /** The open connection of each (campaign, supersede key): a newer one of the same tab supersedes it. */
  readonly #bySupersedeKey = new Map<string, ClientConnection>();
  /** The latest connection id of each (campaign, token), open or not: where fallback ACKs go. */
  readonly #lastByToken = new Map<string, ClientConnection>();
  readonly #ping: NodeJS.Timeout;
  #closing = false;
  /** Every connection not yet closed (superseded ones too, until their socket is gone). */
  readonly #all = new Set<ClientConnection>();
  #count = 0;

  constructor(ctx: WebContext) {
    this.#ctx = ctx;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: ctx.limits.wsMaxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    // Transport keep-alive runs on real time: it is about sockets, not the station.
    this.#ping = setInterval(() => this.#pingAll(), ctx.limits.wsPingIntervalMs);
    this.#ping.unref();
  }

  /** Open connections (all campaigns, or one). */
  connectionCount(campaignId?: string): number {
    return campaignId === undefined ? this.#count : (this.#rooms.get(campaignId)?.connections.size ?? 0);
  }

  /** The open connections of a campaign (tests). */
  connections(campaignId: string): ClientConnection[] {
    return [...(this.#rooms.get(campaignId)?.connections ?? [])];
  }

  /** The server's `upgrade` handler: authenticate, then hand the socket to `ws`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {}); // a client vanishing mid-handshake is not our error
    let campaignId: string;
    let claims: TokenClaims;
    let clientId: string | null;
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/ws') throw new HttpError(404, 'not_found', 'No such endpoint.');
      if (this.#closing) throw new HttpError(503, 'unavailable', 'The server is shutting down.');
      if (this.#count >= this.#ctx.limits.maxWsConnections) {
        throw new HttpError(503, 'unavailable', 'Too many connections; try again later.');
      }
      const campaigns = url.searchParams.getAll('campaign');
      if (campaigns.length !== 1 || !CAMPAIGN_ID_RE.test(campaigns[0] as string)) {
        throw new HttpError(400, 'bad_request', 'Invalid campaign: letters, digits, _ and - only (max 64).');
      }
      campaignId = campaigns[0] as string;
      const clients = url.searchParams.getAll('client');
      if (clients.length > 1 || (clients.length === 1 && !CLIENT_ID_RE.test(clients[0] as string))) {
        throw new HttpError(400, 'bad_request', 'Invalid client: 8 to 64 letters, digits, _ or -.');
      }
      clientId = clients[0] ?? null;
      claims = verifyToken(this.#ctx.tokens, this.#ctx.clock, readToken(req, url.searchParams));
      requireAccess(claims, campaignId);
    } catch (err) {
      const e = err instanceof HttpError ? err : new HttpError(400, 'bad_request', 'Bad request.');
      refuseUpgrade(socket, e);
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, claims, campaignId, clientId));
  }

  /**
   * Records a fallback HTTP ACK against the token's latest connection (of any
   * tab: the ACK carries only the token); false when it never connected.
   */
  recordPlayed(campaignId: string, tokenId: string, chunkId: string): boolean {
    const connection = this.#lastByToken.get(tokenKey(campaignId, tokenId));
    connection?.markPlayed(chunkId);
    return connection !== undefined;
  }

  /** Closes every connection (1001) and stops listening to the stations. */
  close(): void {
    this.#closing = true;
    clearInterval(this.#ping);
    for (const c of this.#all) c.goAway();
    this.#wss.close();
  }

  /** Resolves when every socket is closed (after {@link close}). */
  async closed(): Promise<void> {
    await Promise.all([...this.#all].map((c) => c.whenClosed));
  }

  #accept(ws: WebSocket, claims: TokenClaims, campaignId: string, clientId: string | null): void {
    const key = tokenKey(campaignId, claims.tokenId);
    const connection = new ClientConnection(randomUUID(), ws, claims, campaignId, clientId, this.#ctx, {
      onClosed: (c) => {
        this.#all.delete(c);
        this.#remove(c);
      },
      onDropped: (reason: DropReason) => this.#ctx.metrics.dropped.inc({ reason }),
    });
    this.#all.add(connection);
    // Only the same tab is replaced: other tabs sharing the link keep playing.
    const sameTab = tokenKey(campaignId, connection.supersedeKey);
    const previous = this.#bySupersedeKey.get(sameTab);
    if (previous) {
      this.#ctx.log.info({ connection: previous.id, by: connection.id }, 'WebSocket connection superseded');
      this.#remove(previous);
      previous.supersede();
    }
    this.#bySupersedeKey.set(sameTab, connection);
    this.#lastByToken.delete(key);
    this.#lastByToken.set(key, connection);
    if (this.#lastByToken.size > 1_000)
      this.#lastByToken.delete(this.#lastByToken.keys().next().value as string);
    this.#count++;
    this.#ctx.metrics.wsConnections.inc();
    const room = this.#room(campaignId);
    room.connections.add(connection);
    this.#greet(connection, this.#ctx.engine.stations.get(campaignId));
  }

  /** Late-join: registration, what is on air and where, the schedule and the queue. */
  #greet(connection: ClientConnection, station: Station): void {
    const now = this.#ctx.clock.now();
    const viewer = connection.role;
    connection.send(connectionRegistered(connection.id, now, viewer));
    const air = onAirView(station);
    if (air) {
      const request = air.entry.request;
      connection.send(
        audioStreamStarted({
          campaignId: station.campaignId,
          request,
          startedAt: request.startedAt?.getTime() ?? now,
          positionMs: air.positionMs,
          chunkIds: readyChunkIds(air.entry),
          text: onAirText(viewer, request, air.entry.chunks, air.spokenIndex),
        }),
      );
    }
    const schedule = station.schedule();
    if (connection.send(stationSchedule(station.campaignId, now, station.paused, schedule, viewer))) {
      connection.markSent(schedule.map((e) => e.chunk.id));
    }
    connection.send(playbackQueueUpdated(station.campaignId, queueView(station, viewer)));
  }

  #remove(connection: ClientConnection): void {
    const key = tokenKey(connection.campaignId, connection.supersedeKey);
    if (this.#bySupersedeKey.get(key) === connection) this.#bySupersedeKey.delete(key);
    const room = this.#rooms.get(connection.campaignId);
    if (!room?.connections.delete(connection)) return;
    this.#count--;
    this.#ctx.metrics.wsConnections.dec();
    if (room.connections.size === 0) {
      room.unsubscribe();
      this.#rooms.delete(connection.campaignId);
    }
  }

  #room(campaignId: string): CampaignRoom {
    let room = this.#rooms.get(campaignId);
    if (!room) {
      const r: CampaignRoom = {
        connections: new Set(),
        unsubscribe: () => {},
        dirtySchedule: false,
        dirtyQueue: false,
        flushQueued: false,
      };
      r.unsubscribe = this.#ctx.feed.subscribe(campaignId, (event) => this.#onStationEvent(r, event));
      this.#rooms.set(campaignId, r);
      room = r;
    }
    return room;
  }

  #onStationEvent(room: CampaignRoom, event: StationEvent): void {
    switch (event.type) {
      case 'requestStarted': {
        const station = this.#ctx.engine.stations.peek(event.campaignId);
        const entry = station?.findRequest(event.request.id);
        const start = resumePoint(entry);
        this.#broadcast(room, (viewer) =>
          audioStreamStarted({
            campaignId: event.campaignId,
            request: event.request,
            startedAt: event.request.startedAt?.getTime() ?? event.startedAt,
            positionMs: start.positionMs,
            chunkIds: entry ? readyChunkIds(entry) : [],
            text: onAirText(viewer, event.request, entry?.chunks ?? [], start.index),
          }),
        );
        break;
      }
      case 'chunkReady': {
        const message = audioChunkReady(event.request, event.chunk);
        this.#broadcast(room, () => message, [event.chunk.id]);
        break;
      }
      case 'requestEnded':
        if (event.wasOnAir) {
          const message = audioStreamStopped(event.campaignId, event.request.id, event.reason);
          this.#broadcast(room, () => message);
        }
        break;
      case 'scheduleChanged':
        room.dirtySchedule = true;
        this.#queueFlush(room, event.campaignId);
        break;
      case 'queueChanged':
        room.dirtyQueue = true;
        this.#queueFlush(room, event.campaignId);
        break;
      default:
        break;
    }
  }

  #queueFlush(room: CampaignRoom, campaignId: string): void {
    if (room.flushQueued) return;
    room.flushQueued = true;
    setImmediate(() => {
      room.flushQueued = false;
      const station = this.#ctx.engine.stations.peek(campaignId);
      if (!station || room.connections.size === 0) return;
      if (room.dirtySchedule) {
        room.dirtySchedule = false;
        const schedule = station.schedule();
        const now = this.#ctx.clock.now();
        this.#broadcast(
          room,
          (viewer) => stationSchedule(campaignId, now, station.paused, schedule, viewer),
          schedule.map((e) => e.chunk.id),
        );
      }
      if (room.dirtyQueue) {
        room.dirtyQueue = false;
        this.#broadcast(room, (viewer) => playbackQueueUpdated(campaignId, queueView(station, viewer)));
      }
    });
  }

  /** Sends one message to every connection of the room (serialised once per viewer role). */
  #broadcast(room: CampaignRoom, build: PerViewer, chunkIds: readonly string[] = []): void {
    const json = new Map<Viewer, string>();
    for (const c of [...room.connections]) {
      let text = json.get(c.role);
      if (text === undefined) {
        text = JSON.stringify(build(c.role));
        json.set(c.role, text);
      }
      if (c.sendRaw(text) && chunkIds.length > 0) c.markSent(chunkIds);
    }
  }

  #pingAll(): void {
    for (const room of this.#rooms.values()) {
      for (const c of [...room.connections]) {
        if (!c.alive) {
          c.drop('dead', 1006, 'no pong');
          continue;
        }
        c.alive = false;
        c.ping();
      }
    }
  }
}

/** Answers a refused upgrade with a plain HTTP error in the JSON shape, then closes. */
function refuseUpgrade(socket: Duplex, err: HttpError): void {
  const body = JSON.stringify(errorBody(err.code, err.message));
  const headers = [
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(err.headers).map(([k, v]) => `${k}: ${v}`),
  ];
  if (socket.writable) socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
  else socket.destroy();
}
