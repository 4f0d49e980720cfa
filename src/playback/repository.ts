import type {
  AudioChunk,
  Campaign,
  ChunkStatus,
  GenerationStatus,
  PlaybackRequest,
  RequestStatus,
} from './types';

/**
 * The playback engine's port to storage. `src/db` implements it with Prisma;
 * {@link ResilientRepository} wraps that so writes survive a database outage.
 *
 * Writes are {@link WriteOp} values: plain data, so they can be journalled and
 * replayed. Every op is idempotent (creates are upserts), and every status
 * change names the state it leaves: the database applies it only to a row
 * still in that state (`where status = from`), so a stale or replayed write
 * can never move a row backwards.
 */
export type WriteOp =
  | { op: 'upsertCampaign'; campaign: Campaign }
  | { op: 'createRequest'; request: PlaybackRequest }
  | { op: 'moveRequest'; id: string; from: RequestStatus; patch: RequestStatusPatch }
  | { op: 'moveGeneration'; id: string; from: GenerationStatus; patch: GenerationPatch }
  | { op: 'recordScript'; id: string; script: string; complete: boolean }
  | { op: 'createChunk'; chunk: AudioChunk }
  | { op: 'moveChunk'; id: string; from: ChunkStatus; patch: ChunkPatch }
  | { op: 'moveChunks'; moves: ChunkMove[] }
  | ListenerWriteOp;

/**
 * One chunk status change of a `moveChunks` op: several `moveChunk` ops that
 * queued up behind a write in flight, applied as one statement (each still
 * guarded by the state it leaves; no chunk twice in one op).
 */
export interface ChunkMove {
  id: string;
  from: ChunkStatus;
  patch: ChunkPatch;
}

/**
 * The writes of the web companion's own rows (connections and per-connection
 * deliveries), reached only through {@link ListenerRecords}.
 */
export type ListenerWriteOp =
  | { op: 'upsertConnection'; connection: ConnectionRecord }
  | { op: 'touchConnection'; id: string; lastHeartbeat: Date }
  | { op: 'closeConnection'; id: string; status: ClosedConnectionStatus; at: Date }
  | { op: 'supersedeConnections'; campaignId: string; tokenId: string; exceptId: string; at: Date }
  | { op: 'recordDeliveries'; field: DeliveryField; deliveries: Delivery[] }
  | { op: 'recordConnections'; batch: ConnectionBatch };

/**
 * Many connection writes in one {@link WriteOp} (the web's ConnectionLog
 * batches them): rows opened (each supersedes the older CONNECTED rows of its
 * tab), heartbeat times, and closes, applied in that order. Idempotent: an
 * opened row is never written twice, a heartbeat never moves back, a close
 * applies only to a row still CONNECTED.
 */
export interface ConnectionBatch {
  /** New rows, in the order they connected (a later one of the same tab supersedes an earlier one). */
  opened: ConnectionRecord[];
  /** The latest heartbeat time per connection. */
  heartbeats: { id: string; at: Date }[];
  closed: { id: string; status: ClosedConnectionStatus; at: Date }[];
}

/** One per-connection delivery time, for the batched {@link WriteOp} `recordDeliveries`. */
export interface Delivery {
  connectionId: string;
  chunkId: string;
  at: Date;
}

/** What an on-air status change writes: the new status and the times/reason that go with it. */
export type RequestStatusPatch = Pick<PlaybackRequest, 'status'> &
  Partial<Pick<PlaybackRequest, 'error' | 'startedAt' | 'finishedAt'>>;

/** What a generation change writes: the new state, `totalChunks` when GENERATED, `error` when FAILED. */
export type GenerationPatch = Pick<PlaybackRequest, 'generation'> &
  Partial<Pick<PlaybackRequest, 'error' | 'totalChunks'>>;

/** What a chunk status change writes. */
export type ChunkPatch = Pick<AudioChunk, 'status'> & Partial<Pick<AudioChunk, 'playedAt'>>;

/** Kind of a listener connection. */
export type ConnectionKind = 'PLAYER' | 'DM';
/** Lifecycle of a listener connection. */
export type ConnectionStatus = 'CONNECTED' | 'DISCONNECTED' | 'FAILED' | 'SUPERSEDED';

/** A row of `websocket_connections`. */
export interface ConnectionRecord {
  id: string;
  campaignId: string;
  tokenId: string;
  kind: ConnectionKind;
  status: ConnectionStatus;
  connectedAt: Date;
  lastHeartbeat: Date;
  disconnectedAt: Date | null;
}

/** How a connection ends by itself (SUPERSEDED is set only by the newer connection). */
export type ClosedConnectionStatus = 'DISCONNECTED' | 'FAILED';

/**
 * The web companion's narrow port to storage: its connection and delivery
 * rows. It cannot reach requests or chunks, whose statuses only the engine
 * (station, writer, recovery) changes.
 */
export interface ListenerRecords {
  /** A new connection: its row, and older ones of the same tab marked SUPERSEDED. */
  opened(connection: ConnectionRecord): Promise<void>;
  /** Liveness of a CONNECTED connection. */
  heartbeat(id: string, at: Date): Promise<void>;
  /** A CONNECTED connection ended (a superseded one keeps SUPERSEDED). */
  closed(id: string, status: ClosedConnectionStatus, at: Date): Promise<void>;
  /** Many connection opens, heartbeats and closes in one write (see {@link ConnectionBatch}). */
  recordConnections(batch: ConnectionBatch): Promise<void>;
  /** Many per-connection delivery times in one write. */
  recordDeliveries(field: DeliveryField, deliveries: Delivery[]): Promise<void>;
}

/** Which per-connection delivery time a {@link WriteOp} records. */
export type DeliveryField = 'sentAt' | 'acknowledgedAt' | 'playedAt';

/** A request with its chunks in sequence order. */
export interface RequestWithChunks {
  request: PlaybackRequest;
  chunks: AudioChunk[];
}

/** Storage for campaigns, requests, chunks and connections. */
export interface PlaybackRepository {
  /** Applies one write; resolves once it is durable (in the database or, in an outage, the journal). */
  apply(op: WriteOp): Promise<void>;
  /** Throws when the database cannot answer. */
  ping(): Promise<void>;

  getCampaign(id: string): Promise<Campaign | null>;
  findCampaignByGuild(guildId: string): Promise<Campaign | null>;
  listCampaigns(): Promise<Campaign[]>;

  /** Requests still PENDING or PLAYING, with chunks, oldest first (recovery). */
  loadActiveRequests(): Promise<RequestWithChunks[]>;
  /** Finished requests of a campaign, newest first. */
  listHistory(campaignId: string, limit: number): Promise<PlaybackRequest[]>;
  /** Highest `queueSeq` used in each campaign (start-up; the station counts on from there). */
  maxQueueSeqs(): Promise<Map<string, number>>;
  getRequest(id: string): Promise<RequestWithChunks | null>;
  getChunk(id: string): Promise<(AudioChunk & { campaignId: string }) | null>;
  /** Chunk texts of the campaign's most recent aired requests, oldest first (LLM context). */
  recentNarration(campaignId: string, limit: number): Promise<string[]>;

  /** PLAYED/SKIPPED chunks created before `before`. */
  findExpiredChunks(before: Date, limit: number): Promise<AudioChunk[]>;
  deleteChunks(ids: string[]): Promise<number>;
  /** Marks CONNECTED connections whose last heartbeat is before `before` as DISCONNECTED. */
  markStaleConnections(before: Date, at: Date): Promise<number>;
}

/**
 * What the bot and the web companion may see of storage: reads, and waiting
 * for writes to be durable. Writes go through the engine's own parts.
 */
export type PlaybackReader = Omit<PlaybackRepository, 'apply'>;

/** Re-export so callers need one import. */
export type { ChunkStatus };
