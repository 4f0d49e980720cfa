/**
 * Finds requests and chunks by id: in station memory first (live, with the
 * chunks still arriving), then in storage (finished requests).
 */
import type { AudioChunk, PlaybackEngine, PlaybackRequest, QueueEntry } from '../playback';
import { unavailable } from './errors';

/** A request found in memory (`entry`, still changing) or storage (final). */
export type FoundRequest =
  { live: true; entry: QueueEntry } | { live: false; request: PlaybackRequest; chunks: AudioChunk[] };

/** A chunk and its campaign. */
export interface FoundChunk {
  chunk: AudioChunk;
  campaignId: string;
}

function storageError(err: unknown): never {
  throw Object.assign(unavailable('Storage is unavailable right now; try again shortly.'), { cause: err });
}

/** The request with `id`, or null. Throws 503 when storage can't answer. */
export async function findRequest(engine: PlaybackEngine, id: string): Promise<FoundRequest | null> {
  for (const station of engine.stations.all()) {
    const entry = station.findRequest(id);
    if (entry) return { live: true, entry };
  }
  const row = await engine.repository.getRequest(id).catch(storageError);
  return row ? { live: false, request: row.request, chunks: row.chunks } : null;
}

/** The chunk with `id`, or null. Throws 503 when storage can't answer. */
export async function findChunk(engine: PlaybackEngine, id: string): Promise<FoundChunk | null> {
  for (const station of engine.stations.all()) {
    for (const entry of station.queue()) {
      for (const chunk of entry.chunks) {
        if (chunk?.id === id) return { chunk, campaignId: station.campaignId };
      }
    }
  }
  const row = await engine.repository.getChunk(id).catch(storageError);
  if (!row) return null;
  const { campaignId, ...chunk } = row;
  return { chunk, campaignId };
}
