import type { AudioChunk, Campaign, ChunkStatus, PlaybackRequest } from './types';

/**
 * The playback engine's port to storage. `src/db` implements it with Prisma;
 * {@link ResilientRepository} wraps that so writes survive a database outage.
 *
 * Writes are {@link WriteOp} values: plain data, so they can be journalled and
 * replayed. Every op is idempotent (creates are upserts, updates set values), so
 * replaying a journal that was partly applied adds no duplicates.
 */
export type WriteOp =
  | { op: 'upsertCampaign'; campaign: Campaign }
  | { op: 'createRequest'; request: PlaybackRequest }
  | { op: 'updateRequest'; id: string; patch: RequestPatch }
  | { op: 'createChunk'; chunk: AudioChunk }
  | { op: 'updateChunk'; id: string; patch: ChunkPatch }
  | { op: 'upsertConnection'; connection: ConnectionRecord }
  | { op: 'updateConnection'; id: string; patch: ConnectionPatch }
  | { op: 'supersedeConnections'; campaignId: string; tokenId: string; exceptId: string; at: Date }
  | { op: 'recordDelivery'; connectionId: string; chunkId: string; field: DeliveryField; at: Date }
  | { op: 'recordDeliveries'; field: DeliveryField; deliveries: Delivery[] };

/** One per-connection delivery time, for the batched {@link WriteOp} `recordDeliveries`. */
export interface Delivery {
  connectionId: string;
  chunkId: string;
  at: Date;
}

/** Fields of a request that change after creation. */
export type RequestPatch = Partial<
  Pick<
    PlaybackRequest,
    'status' | 'generation' | 'error' | 'totalChunks' | 'startedAt' | 'finishedAt' | 'text'
  >
>;

/** Fields of a chunk that change after creation. */
export type ChunkPatch = Partial<Pick<AudioChunk, 'status' | 'playedAt'>>;

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

export type ConnectionPatch = Partial<Pick<ConnectionRecord, 'status' | 'lastHeartbeat' | 'disconnectedAt'>>;

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

/** Re-export so callers need one import. */
export type { ChunkStatus };
