import type {
  ChunkMove,
  ConnectionBatch,
  ConnectionRecord,
  Delivery,
  DeliveryField,
  PlaybackRepository,
  RequestWithChunks,
  WriteOp,
} from '../playback/repository';
import {
  ChunkStatus,
  RequestStatus,
  type AudioChunk,
  type Campaign,
  type GenerationStatus,
  type NarrationMode,
  type PlaybackRequest,
} from '../playback/types';
import { ACTIVE_REQUEST_STATUSES, FINAL_REQUEST_STATUSES } from '../playback/states';
import type { PrismaClient } from '../generated/prisma/client';
import type * as Rows from '../generated/prisma/client';

/** Columns of `connection_playback_states` by delivery field (never user input). */
const DELIVERY_COLUMNS: Record<DeliveryField, string> = {
  sentAt: 'sent_at',
  acknowledgedAt: 'acknowledged_at',
  playedAt: 'played_at',
};

/** A write this version does not know (a journal left by an older one); a data error, so it is dropped. */
export class UnknownWriteOpError extends Error {
  override readonly name = 'UnknownWriteOpError';
  constructor(readonly op: unknown) {
    super(`unknown write op ${JSON.stringify(op)}`);
  }
}

/** {@link PlaybackRepository} on Prisma (PGlite or PostgreSQL; one dialect). */
export class PrismaPlaybackRepository implements PlaybackRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pingFn: () => Promise<void>,
  ) {}

  async apply(op: WriteOp): Promise<void> {
    const db = this.prisma;
    switch (op.op) {
      case 'upsertCampaign': {
        const { id, ...rest } = op.campaign;
        await db.campaign.upsert({ where: { id }, create: { id, ...rest }, update: rest });
        return;
      }
      case 'createRequest':
        await db.audioPlaybackRequest.upsert({
          where: { id: op.request.id },
          create: op.request,
          update: {},
        });
        return;
      case 'moveRequest':
        await db.audioPlaybackRequest.updateMany({ where: { id: op.id, status: op.from }, data: op.patch });
        return;
      case 'moveGeneration':
        await db.audioPlaybackRequest.updateMany({
          where: { id: op.id, generation: op.from },
          data: op.patch,
        });
        return;
      case 'recordScript':
        // The script only grows, and not after it is complete: an older write replayed late changes nothing.
        await db.$executeRaw`UPDATE "audio_playback_requests"
          SET "script" = ${op.script}, "script_complete" = ${op.complete}
          WHERE "id" = ${op.id} AND NOT "script_complete"
            AND length(coalesce("script", '')) <= length(${op.script}::text)`;
        return;
      case 'createChunk':
        await db.audioChunk.upsert({ where: { id: op.chunk.id }, create: op.chunk, update: {} });
        return;
      case 'moveChunk':
        await db.audioChunk.updateMany({ where: { id: op.id, status: op.from }, data: op.patch });
        return;
      case 'moveChunks':
        await this.#moveChunks(op.moves);
        return;
      case 'upsertConnection':
        // Each connection has its own id: a replay after it closed must not make it CONNECTED again.
        await db.websocketConnection.upsert({
          where: { id: op.connection.id },
          create: op.connection,
          update: {},
        });
        return;
      case 'touchConnection':
        await db.websocketConnection.updateMany({
          where: { id: op.id, status: 'CONNECTED' },
          data: { lastHeartbeat: op.lastHeartbeat },
        });
        return;
      case 'closeConnection':
        await db.websocketConnection.updateMany({
          where: { id: op.id, status: 'CONNECTED' },
          data: { status: op.status, disconnectedAt: op.at },
        });
        return;
      case 'supersedeConnections':
        await db.websocketConnection.updateMany({
          where: {
            campaignId: op.campaignId,
            tokenId: op.tokenId,
            status: 'CONNECTED',
            id: { not: op.exceptId },
          },
          data: { status: 'SUPERSEDED', disconnectedAt: op.at },
        });
        return;
      case 'recordDeliveries':
        await this.#recordDeliveries(op.field, op.deliveries);
        return;
      case 'recordConnections':
        await this.#recordConnections(op.batch);
        return;
      default:
        // A journal written by an older version (e.g. the unguarded `updateRequest`): refused as data.
        throw new UnknownWriteOpError((op as { op?: unknown }).op);
    }
  }

  /**
   * Many chunk status changes in one statement (a busy station's PLAYING and
   * PLAYED writes): on the embedded database one statement costs about as much
   * as a hundred rows in one. Each row changes only if still in its `from`
   * state; `played_at` only where the move sets it.
   */
  async #moveChunks(moves: readonly ChunkMove[]): Promise<void> {
    if (moves.length === 0) return;
    await this.prisma.$executeRawUnsafe(
      `UPDATE "audio_chunks" AS c
       SET "status" = t.status::"ChunkStatus",
           "played_at" = CASE WHEN t.set_played THEN t.played_at ELSE c."played_at" END
       FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::timestamptz[])
         AS t(id, from_status, status, set_played, played_at)
       WHERE c."id" = t.id AND c."status" = t.from_status::"ChunkStatus"`,
      moves.map((m) => m.id),
      moves.map((m) => m.from),
      moves.map((m) => m.patch.status),
      moves.map((m) => m.patch.playedAt !== undefined),
      moves.map((m) => m.patch.playedAt ?? null),
    );
  }

  /**
   * Many delivery times in one statement: a broadcast to every listener of a
   * campaign is one write, not one per listener. Rows whose chunk or connection
   * is gone are skipped; a pair given twice keeps its last time.
   */
  async #recordDeliveries(field: DeliveryField, deliveries: readonly Delivery[]): Promise<void> {
    const last = new Map<string, Delivery>();
    for (const d of deliveries) last.set(`${d.connectionId}\u0000${d.chunkId}`, d);
    if (last.size === 0) return;
    const rows = [...last.values()];
    const column = DELIVERY_COLUMNS[field];
    await this.prisma.$executeRawUnsafe(
      `INSERT INTO "connection_playback_states" ("connection_id", "chunk_id", "${column}")
       SELECT t.c, t.k, t.at FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS t(c, k, at)
       JOIN "audio_chunks" ch ON ch.id = t.k
       JOIN "websocket_connections" wc ON wc.id = t.c
       ON CONFLICT ("connection_id", "chunk_id") DO UPDATE SET "${column}" = EXCLUDED."${column}"`,
      rows.map((d) => d.connectionId),
      rows.map((d) => d.chunkId),
      rows.map((d) => d.at),
    );
  }

  /**
   * A batch of connection writes in at most three statements, whatever its
   * size: with the embedded database each statement runs on the event loop
   * that accepts sockets and paces the live streams, so one statement per
   * listener made connects crawl (bench/RESULTS.md, "Web listeners").
   */
  async #recordConnections(batch: ConnectionBatch): Promise<void> {
    const db = this.prisma;
    const opened = batch.opened;
    if (opened.length > 0) {
      // Rows of a campaign that is gone are skipped, like deliveries of a gone chunk.
      await db.$executeRawUnsafe(
        `INSERT INTO "websocket_connections"
           ("id", "campaign_id", "token_id", "kind", "status", "connected_at", "last_heartbeat", "disconnected_at")
         SELECT t.id, t.campaign, t.token, t.kind::"ConnectionKind", t.status::"ConnectionStatus", t.connected,
                t.heartbeat, t.disconnected
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                     $7::timestamptz[], $8::timestamptz[])
           AS t(id, campaign, token, kind, status, connected, heartbeat, disconnected)
         JOIN "campaigns" c ON c.id = t.campaign
         ON CONFLICT ("id") DO NOTHING`,
        opened.map((c) => c.id),
        opened.map((c) => c.campaignId),
        opened.map((c) => c.tokenId),
        opened.map((c) => c.kind),
        opened.map((c) => c.status),
        opened.map((c) => c.connectedAt),
        opened.map((c) => c.lastHeartbeat),
        opened.map((c) => c.disconnectedAt),
      );
      // The newest row of each tab supersedes every other CONNECTED row of it.
      const newest = new Map<string, ConnectionRecord>();
      for (const c of opened) newest.set(`${c.campaignId}\u0000${c.tokenId}`, c);
      const keep = [...newest.values()];
      await db.$executeRawUnsafe(
        `UPDATE "websocket_connections" wc SET "status" = 'SUPERSEDED', "disconnected_at" = t.at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS t(campaign, token, keep, at)
         WHERE wc.campaign_id = t.campaign AND wc.token_id = t.token AND wc.status = 'CONNECTED'
           AND wc.id <> t.keep`,
        keep.map((c) => c.campaignId),
        keep.map((c) => c.tokenId),
        keep.map((c) => c.id),
        keep.map((c) => c.connectedAt),
      );
    }
    const latest = new Map<string, Date>();
    for (const h of batch.heartbeats) {
      const seen = latest.get(h.id);
      if (!seen || seen < h.at) latest.set(h.id, h.at);
    }
    if (latest.size > 0) {
      await db.$executeRawUnsafe(
        `UPDATE "websocket_connections" wc SET "last_heartbeat" = t.at
         FROM unnest($1::text[], $2::timestamptz[]) AS t(id, at)
         WHERE wc.id = t.id AND wc.status = 'CONNECTED' AND wc.last_heartbeat < t.at`,
        [...latest.keys()],
        [...latest.values()],
      );
    }
    // A connection closes once: a second close of the same id in one batch changes nothing.
    const closed = [...new Map(batch.closed.map((c) => [c.id, c] as const).reverse()).values()];
    if (closed.length > 0) {
      await db.$executeRawUnsafe(
        `UPDATE "websocket_connections" wc
         SET "status" = t.status::"ConnectionStatus", "disconnected_at" = t.at
         FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS t(id, status, at)
         WHERE wc.id = t.id AND wc.status = 'CONNECTED'`,
        closed.map((c) => c.id),
        closed.map((c) => c.status),
        closed.map((c) => c.at),
      );
    }
  }

  ping(): Promise<void> {
    return this.pingFn();
  }

  async getCampaign(id: string): Promise<Campaign | null> {
    const row = await this.prisma.campaign.findUnique({ where: { id } });
    return row ? toCampaign(row) : null;
  }

  async findCampaignByGuild(guildId: string): Promise<Campaign | null> {
    const row = await this.prisma.campaign.findFirst({ where: { guildId }, orderBy: { createdAt: 'asc' } });
    return row ? toCampaign(row) : null;
  }

  async listCampaigns(): Promise<Campaign[]> {
    return (await this.prisma.campaign.findMany({ orderBy: { createdAt: 'asc' } })).map(toCampaign);
  }

  async loadActiveRequests(): Promise<RequestWithChunks[]> {
    const rows = await this.prisma.audioPlaybackRequest.findMany({
      where: { status: { in: [...ACTIVE_REQUEST_STATUSES] } },
      orderBy: [{ campaignId: 'asc' }, { queueSeq: 'asc' }],
      include: { chunks: { orderBy: { sequenceNumber: 'asc' } } },
    });
    return rows.map((r) => ({ request: toRequest(r), chunks: r.chunks.map(toChunk) }));
  }

  async listHistory(campaignId: string, limit: number): Promise<PlaybackRequest[]> {
    const rows = await this.prisma.audioPlaybackRequest.findMany({
      where: {
        campaignId,
        status: { in: [...FINAL_REQUEST_STATUSES] },
      },
      orderBy: { queueSeq: 'desc' },
      take: limit,
    });
    return rows.map(toRequest);
  }

  async maxQueueSeqs(): Promise<Map<string, number>> {
    const rows = await this.prisma.audioPlaybackRequest.groupBy({
      by: ['campaignId'],
      _max: { queueSeq: true },
    });
    return new Map(rows.map((r) => [r.campaignId, r._max.queueSeq ?? 0]));
  }

  async getRequest(id: string): Promise<RequestWithChunks | null> {
    const row = await this.prisma.audioPlaybackRequest.findUnique({
      where: { id },
      include: { chunks: { orderBy: { sequenceNumber: 'asc' } } },
    });
    return row ? { request: toRequest(row), chunks: row.chunks.map(toChunk) } : null;
  }

  async getChunk(id: string): Promise<(AudioChunk & { campaignId: string }) | null> {
    const row = await this.prisma.audioChunk.findUnique({
      where: { id },
      include: { request: { select: { campaignId: true } } },
    });
    return row ? { ...toChunk(row), campaignId: row.request.campaignId } : null;
  }

  async recentNarration(campaignId: string, limit: number): Promise<string[]> {
    const rows = await this.prisma.audioPlaybackRequest.findMany({
      where: { campaignId, status: { in: [RequestStatus.Played, RequestStatus.Playing] } },
      orderBy: { queueSeq: 'desc' },
      take: limit,
      include: { chunks: { orderBy: { sequenceNumber: 'asc' }, select: { text: true } } },
    });
    return rows
      .reverse()
      .map((r) => r.chunks.map((c) => c.text).join(' '))
      .filter((t) => t.length > 0);
  }

  async findExpiredChunks(before: Date, limit: number): Promise<AudioChunk[]> {
    const rows = await this.prisma.audioChunk.findMany({
      where: { status: { in: [ChunkStatus.Played, ChunkStatus.Skipped] }, createdAt: { lt: before } },
      orderBy: { createdAt: 'asc' },
      take: limit,
    });
    return rows.map(toChunk);
  }

  async deleteChunks(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (await this.prisma.audioChunk.deleteMany({ where: { id: { in: ids } } })).count;
  }

  async markStaleConnections(before: Date, at: Date): Promise<number> {
    const res = await this.prisma.websocketConnection.updateMany({
      where: { status: 'CONNECTED', lastHeartbeat: { lt: before } },
      data: { status: 'DISCONNECTED', disconnectedAt: at },
    });
    return res.count;
  }
}

function toCampaign(row: Rows.Campaign): Campaign {
  return {
    id: row.id,
    name: row.name,
    guildId: row.guildId,
    voiceChannelId: row.voiceChannelId,
    textChannelId: row.textChannelId,
    dmRoleId: row.dmRoleId,
    ttsVoice: row.ttsVoice,
    idleTimeoutSec: row.idleTimeoutSec,
  };
}

function toRequest(row: Rows.AudioPlaybackRequest): PlaybackRequest {
  return {
    id: row.id,
    campaignId: row.campaignId,
    queueSeq: row.queueSeq,
    mode: row.mode as NarrationMode,
    text: row.text,
    status: row.status as RequestStatus,
    generation: row.generation as GenerationStatus,
    error: row.error,
    totalChunks: row.totalChunks,
    voice: row.voice,
    script: row.script,
    scriptComplete: row.scriptComplete,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
  };
}

function toChunk(row: Rows.AudioChunk): AudioChunk {
  return {
    id: row.id,
    requestId: row.requestId,
    sequenceNumber: row.sequenceNumber,
    status: row.status as ChunkStatus,
    text: row.text,
    opusKey: row.opusKey,
    opusSizeBytes: row.opusSizeBytes,
    mp3Key: row.mp3Key,
    mp3SizeBytes: row.mp3SizeBytes,
    mimeType: row.mimeType,
    durationMs: row.durationMs,
    sampleCount: row.sampleCount,
    frameCount: row.frameCount,
    createdAt: row.createdAt,
    playedAt: row.playedAt,
    // Absent rather than null: chunks from before the cast (and narrator lines) carry none.
    ...(row.speaker === null ? {} : { speaker: row.speaker }),
    ...(row.voice === null ? {} : { voice: row.voice }),
  };
}

export type { ConnectionRecord };
