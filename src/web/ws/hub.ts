/**
 * The WebSocket side of the web companion: authenticates upgrades on `/ws`,
 * keeps the connections of each campaign, greets a new connection with the
 * station's state (late-join) and broadcasts station events as protocol
 * messages. Queue and schedule updates are coalesced per campaign to one
 * message per turn of the event loop (a chunk arriving fires several events),
 * and every message of a turn reaches a listener in one socket write: frames
 * built once per viewer role, not per listener (see frames.ts).
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
import { Expiries } from './expiries';
import { encodeTextFrames } from './frames';

/** Serialises a message for every viewer role (a message the same for all is serialised once). */
function forViewers(build: PerViewer, same = false): Record<Viewer, string> {
  const player = JSON.stringify(build('player'));
  return { player, dm: same ? player : JSON.stringify(build('dm')) };
}

/** A chunk a message tells listeners about. */
interface Told {
  requestId: string;
  chunkId: string;
}

/** A message of this turn, serialised for each viewer role, and the chunks it tells about. */
interface Outgoing {
  json: Record<Viewer, string>;
  told: readonly Told[];
  /** Order of posting (hub-wide): a connection greeted after it already has its news. */
  seq: number;
}

interface CampaignRoom {
  connections: Set<ClientConnection>;
  unsubscribe: () => void;
  /** Messages of this turn, in event order; sent together once the turn ends. */
  outbox: Outgoing[];
  /**
   * Chunks told to this room's connections, by request. Connections forget a
   * request's chunks once the request after it has ended too (its last ACKs
   * arrive after it ends, and a remembered chunk needs no lookup), so what a
   * connection remembers stays the size of a request or two, however long the session.
   */
  told: Map<string, Set<string>>;
  /** Requests ended since the last forgetting: forgotten when the next one ends. */
  ended: string[];
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
  /** Token expiry of every open connection, on one timer. */
  readonly #expiries: Expiries<ClientConnection>;
  #closing = false;
  /** Every connection not yet closed (superseded ones too, until their socket is gone). */
  readonly #all = new Set<ClientConnection>();
  #count = 0;
  /** Last {@link Outgoing.seq} given out. */
  #seq = 0;
  /** The {@link #seq} at each connection's greeting: messages posted before it are not sent to it. */
  readonly #greetedAt = new WeakMap<ClientConnection, number>();

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
    this.#expiries = new Expiries(ctx.clock, (c) => c.expire());
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
    this.#wss.handleUpgrade(req, socket, head, (ws) =>
      this.#accept(ws, socket, claims, campaignId, clientId),
    );
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
    this.#expiries.clear();
    for (const c of this.#all) c.goAway();
    this.#wss.close();
  }

  /** Resolves when every socket is closed (after {@link close}). */
  async closed(): Promise<void> {
    await Promise.all([...this.#all].map((c) => c.whenClosed));
  }

  #accept(
    ws: WebSocket,
    socket: Duplex,
    claims: TokenClaims,
    campaignId: string,
    clientId: string | null,
  ): void {
    const key = tokenKey(campaignId, claims.tokenId);
    const connection = new ClientConnection(
      randomUUID(),
      ws,
      socket,
      claims,
      campaignId,
      clientId,
      this.#ctx,
      {
        onClosed: (c) => {
          this.#all.delete(c);
          this.#remove(c);
        },
        onDropped: (reason: DropReason) => this.#ctx.metrics.dropped.inc({ reason }),
      },
    );
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
    this.#greetedAt.set(connection, this.#seq);
    this.#greet(connection, this.#ctx.engine.stations.get(campaignId));
    this.#expiries.add(connection, connection.expiresAtMs);
  }

  /** Late-join: registration, what is on air and where, the schedule and the queue. */
  #greet(connection: ClientConnection, station: Station): void {
    const now = this.#ctx.clock.now();
    const viewer = connection.role;
    const messages: ServerMessage[] = [connectionRegistered(connection.id, now, viewer)];
    const air = onAirView(station);
    if (air) {
      const request = air.entry.request;
      messages.push(
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
    messages.push(
      stationSchedule(station.campaignId, now, station.paused, schedule, viewer),
      playbackQueueUpdated(station.campaignId, queueView(station, viewer)),
    );
    // One socket write for the whole greeting.
    if (connection.sendFrames(encodeTextFrames(messages.map((m) => JSON.stringify(m))))) {
      const room = this.#rooms.get(station.campaignId);
      const told = schedule.map((e) => ({ requestId: e.request.id, chunkId: e.chunk.id }));
      connection.markSent(room ? this.#remember(room, told) : told.map((t) => t.chunkId));
    }
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
        outbox: [],
        told: new Map(),
        ended: [],
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
        // Built now: the station's state is read as of the event, even though it is sent at the end of the turn.
        const station = this.#ctx.engine.stations.peek(event.campaignId);
        const entry = station?.findRequest(event.request.id);
        const start = resumePoint(entry);
        const chunkIds = entry ? readyChunkIds(entry) : [];
        this.#post(room, event.campaignId, {
          json: forViewers((viewer) =>
            audioStreamStarted({
              campaignId: event.campaignId,
              request: event.request,
              startedAt: event.request.startedAt?.getTime() ?? event.startedAt,
              positionMs: start.positionMs,
              chunkIds,
              text: onAirText(viewer, event.request, entry?.chunks ?? [], start.index),
            }),
          ),
          told: [],
        });
        break;
      }
      case 'chunkReady': {
        const message = audioChunkReady(event.request, event.chunk);
        this.#post(room, event.campaignId, {
          json: forViewers(() => message, true),
          told: [{ requestId: event.request.id, chunkId: event.chunk.id }],
        });
        break;
      }
      case 'requestEnded':
        if (event.wasOnAir) {
          const message = audioStreamStopped(event.campaignId, event.request.id, event.reason);
          this.#post(room, event.campaignId, { json: forViewers(() => message, true), told: [] });
        }
        this.#forgetEnded(room, event.request.id);
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

  #post(room: CampaignRoom, campaignId: string, message: Omit<Outgoing, 'seq'>): void {
    if (room.connections.size === 0) return;
    room.outbox.push({ ...message, seq: ++this.#seq });
    this.#queueFlush(room, campaignId);
  }

  #queueFlush(room: CampaignRoom, campaignId: string): void {
    if (room.flushQueued) return;
    room.flushQueued = true;
    setImmediate(() => {
      room.flushQueued = false;
      const outbox = room.outbox;
      room.outbox = [];
      const station = this.#ctx.engine.stations.peek(campaignId);
      if (room.connections.size === 0) return;
      if (station && room.dirtySchedule) {
        room.dirtySchedule = false;
        const schedule = station.schedule();
        const now = this.#ctx.clock.now();
        outbox.push({
          json: forViewers((viewer) => stationSchedule(campaignId, now, station.paused, schedule, viewer)),
          told: schedule.map((e) => ({ requestId: e.request.id, chunkId: e.chunk.id })),
          seq: ++this.#seq,
        });
      }
      if (station && room.dirtyQueue) {
        room.dirtyQueue = false;
        outbox.push({
          json: forViewers((viewer) => playbackQueueUpdated(campaignId, queueView(station, viewer))),
          told: [],
          seq: ++this.#seq,
        });
      }
      this.#broadcast(room, outbox);
    });
  }

  /**
   * Sends the turn's messages to every connection of the room: one buffer per
   * viewer role, one write per connection. A connection greeted during the
   * turn gets only what was posted after its greeting.
   */
  #broadcast(room: CampaignRoom, outbox: readonly Outgoing[]): void {
    if (outbox.length === 0) return;
    const frames = new Map<Viewer, Buffer>();
    const framesFor = (viewer: Viewer): Buffer => {
      let f = frames.get(viewer);
      if (!f) frames.set(viewer, (f = encodeTextFrames(outbox.map((m) => m.json[viewer]))));
      return f;
    };
    const firstSeq = (outbox[0] as Outgoing).seq;
    const allChunkIds = this.#remember(
      room,
      outbox.flatMap((m) => m.told),
    );
    const at = new Date(this.#ctx.clock.now());
    // Every socket is written first, the delivery records after: the last listener's message waits for no bookkeeping.
    const told: [ClientConnection, readonly string[]][] = [];
    for (const c of [...room.connections]) {
      const greetedAt = this.#greetedAt.get(c) ?? 0;
      const news = greetedAt < firstSeq ? outbox : outbox.filter((m) => m.seq > greetedAt);
      if (news.length === 0) continue;
      const sent =
        news === outbox
          ? c.sendFrames(framesFor(c.role))
          : c.sendFrames(encodeTextFrames(news.map((m) => m.json[c.role])));
      const chunkIds = news === outbox ? allChunkIds : news.flatMap((m) => m.told.map((t) => t.chunkId));
      if (sent && chunkIds.length > 0) told.push([c, chunkIds]);
    }
    for (const [c, chunkIds] of told) c.markSent(chunkIds, at);
  }

  /** Notes chunks told to the room (see {@link CampaignRoom.told}); returns their ids. */
  #remember(room: CampaignRoom, told: readonly Told[]): string[] {
    for (const t of told) {
      let chunks = room.told.get(t.requestId);
      if (!chunks) room.told.set(t.requestId, (chunks = new Set()));
      chunks.add(t.chunkId);
    }
    return told.map((t) => t.chunkId);
  }

  /**
   * A request ended: the chunks of requests that ended before it are never
   * told or acknowledged again, so connections stop remembering them.
   */
  #forgetEnded(room: CampaignRoom, requestId: string): void {
    const ids: string[] = [];
    for (const ended of room.ended) {
      for (const id of room.told.get(ended) ?? []) ids.push(id);
      room.told.delete(ended);
    }
    room.ended = [requestId];
    if (ids.length === 0) return;
    for (const c of room.connections) c.forgetSent(ids);
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
