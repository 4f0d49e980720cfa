import { assertChunkTransition, assertGenerationTransition, assertRequestTransition } from './states';
import type { ChunkPatch, RequestPatch } from './repository';
import {
  ChunkStatus,
  GenerationStatus,
  RequestStatus,
  type AudioChunk,
  type FinalRequestStatus,
  type PlaybackRequest,
} from './types';

/**
 * The one place each status changes. Each function checks the current state,
 * mutates the in-memory record and returns the patch to persist.
 */

/** Moves a request's on-air status; stamps startedAt/finishedAt. */
export function transitionRequest(
  request: PlaybackRequest,
  to: RequestStatus,
  at: Date,
  error?: string,
): RequestPatch {
  assertRequestTransition(request.id, request.status, to);
  const patch: RequestPatch = { status: to };
  if (to === RequestStatus.Playing) patch.startedAt = at;
  if (isFinal(to)) patch.finishedAt = at;
  if (error !== undefined) patch.error = error;
  Object.assign(request, patch);
  return patch;
}

/** Moves a request's generation status; `totalChunks` when GENERATED, `error` when FAILED. */
export function transitionGeneration(
  request: PlaybackRequest,
  to: GenerationStatus,
  fields: { totalChunks?: number; error?: string } = {},
): RequestPatch {
  assertGenerationTransition(request.id, request.generation, to);
  const patch: RequestPatch = { generation: to };
  if (fields.totalChunks !== undefined) patch.totalChunks = fields.totalChunks;
  if (fields.error !== undefined) patch.error = fields.error;
  Object.assign(request, patch);
  return patch;
}

/** Moves a chunk's status; stamps playedAt when PLAYED. */
export function transitionChunk(chunk: AudioChunk, to: ChunkStatus, at: Date): ChunkPatch {
  assertChunkTransition(chunk.id, chunk.status, to);
  const patch: ChunkPatch = { status: to };
  if (to === ChunkStatus.Played) patch.playedAt = at;
  Object.assign(chunk, patch);
  return patch;
}

function isFinal(status: RequestStatus): status is FinalRequestStatus {
  return (
    status === RequestStatus.Played || status === RequestStatus.Failed || status === RequestStatus.Cancelled
  );
}
