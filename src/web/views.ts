/**
 * Read models of the engine for the wire: the queue as the WebSocket reports
 * it (from station memory, synchronous) and the HTTP queue snapshot (plus
 * history from storage), and the late-join view of what is on air.
 */
import {
  ChunkStatus,
  RequestStatus,
  type AudioChunk,
  type PlaybackEngine,
  type QueueEntry,
  type Station,
} from '../playback';
import type { Logger } from '../log';
import { readHistory, recentHistoryOf } from './recent-history';
import {
  onAirText,
  requestSummary,
  toSec,
  type QueueView,
  type RequestSummary,
  type Viewer,
} from './protocol';

const stored = (chunks: (AudioChunk | undefined)[]): AudioChunk[] =>
  chunks.filter((c): c is AudioChunk => !!c);

/** The station's queue as `viewer` may see it: the request on air (or paused on air) and the ones waiting. */
export function queueView(station: Station | undefined, viewer: Viewer): QueueView {
  if (!station) return { current: null, pending: [] };
  let current: QueueView['current'] = null;
  const pending: RequestSummary[] = [];
  for (const entry of station.queue()) {
    const chunks = stored(entry.chunks);
    if (!current && entry.request.status === RequestStatus.Playing) {
      current = {
        request: entry.request,
        chunkCount: entry.request.totalChunks ?? chunks.length,
        playedCount: chunks.filter((c) => c.status === ChunkStatus.Played).length,
      };
    } else {
      pending.push(requestSummary(entry.request, chunks.length, viewer));
    }
  }
  return { current, pending };
}

/** Ids of the chunks stored so far, in sequence order. */
export function readyChunkIds(entry: QueueEntry): string[] {
  return stored(entry.chunks).map((c) => c.id);
}

/** What a late joiner needs: the request on air and how far into it the station is. */
export interface OnAirView {
  entry: QueueEntry;
  /** Milliseconds into the request. */
  positionMs: number;
  /** The chunk on air; during an underrun the last one that aired (at its end). */
  chunk: AudioChunk | null;
  /** Milliseconds into {@link chunk}. */
  chunkOffsetMs: number;
  /** Index of the last chunk that aired or is airing (-1: none yet); waiting for a chunk, it has not aired. */
  spokenIndex: number;
  paused: boolean;
}

/** The station's now, or null when nothing is on air. */
export function onAirView(station: Station | undefined): OnAirView | null {
  const now = station?.now();
  if (!station || !now) return null;
  const entry = station.findRequest(now.request.id);
  if (!entry) return null;
  let chunk = now.chunk;
  let chunkOffsetMs = now.offsetMs;
  if (!chunk && now.chunkIndex > 0) {
    // Waiting for the next chunk: the last frame that aired is the previous chunk's end.
    chunk = entry.chunks[now.chunkIndex - 1] ?? null;
    chunkOffsetMs = chunk?.durationMs ?? 0;
  }
  const spokenIndex = now.underrun ? now.chunkIndex - 1 : now.chunkIndex;
  return { entry, positionMs: now.positionSec * 1000, chunk, chunkOffsetMs, spokenIndex, paused: now.paused };
}

/** Body of `GET /api/campaigns/{id}/audio/queue`. */
export interface QueueSnapshot {
  campaign_id: string;
  server_time: number;
  paused: boolean;
  now_playing: {
    request_id: string;
    /** DM: the request's text; player: the sentences spoken so far ({@link onAirText}). */
    text: string;
    chunk_id: string;
    sequence_number: number;
    position_sec: number;
    request_position_sec: number;
  } | null;
  pending: RequestSummary[];
  history: RequestSummary[];
}

/** The HTTP queue snapshot as `viewer` may see it; history comes from memory when storage can't answer. */
export async function queueSnapshot(
  engine: PlaybackEngine,
  campaignId: string,
  serverTime: number,
  historyLimit: number,
  log: Logger,
  viewer: Viewer,
): Promise<QueueSnapshot> {
  const station = engine.stations.peek(campaignId);
  const air = onAirView(station);
  const view = queueView(station, viewer);
  return {
    campaign_id: campaignId,
    server_time: serverTime,
    paused: station?.paused ?? false,
    now_playing:
      air && air.chunk
        ? {
            request_id: air.entry.request.id,
            text: onAirText(viewer, air.entry.request, air.entry.chunks, air.spokenIndex),
            chunk_id: air.chunk.id,
            sequence_number: air.chunk.sequenceNumber,
            position_sec: toSec(air.chunkOffsetMs),
            request_position_sec: toSec(air.positionMs),
          }
        : null,
    pending: view.pending,
    history: await history(engine, campaignId, historyLimit, log, viewer),
  };
}

async function history(
  engine: PlaybackEngine,
  campaignId: string,
  limit: number,
  log: Logger,
  viewer: Viewer,
): Promise<RequestSummary[]> {
  const memory = recentHistoryOf(engine.stations, limit);
  const { items, source } = await readHistory(engine.repository, memory, campaignId, limit);
  if (source === 'memory')
    log.debug({ campaign: campaignId }, 'queue history from memory (database unavailable)');
  return items.map((i) => requestSummary(i.request, i.chunkCount, viewer));
}
