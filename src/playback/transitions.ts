import {
  assertChunkTransition,
  assertGenerationTransition,
  assertRequestTransition,
  isFinalRequestStatus,
} from './states';
import type { ChunkPatch, GenerationPatch, RequestStatusPatch, WriteOp } from './repository';
import {
  ChunkStatus,
  RequestStatus,
  type AudioChunk,
  type GenerationStatus,
  type PlaybackRequest,
} from './types';

/**
 * The one place each status changes. Each function checks the current state,
 * mutates the in-memory record and returns the write that persists it. The
 * write names the state it leaves, so the database applies it only to a row
 * still in that state (a replayed or stale write changes nothing).
 */

/** A status-changing write: what the transition functions return. */
export type StatusWriteOp = Extract<WriteOp, { op: 'moveRequest' | 'moveGeneration' | 'moveChunk' }>;

/** Moves a request's on-air status; stamps startedAt/finishedAt. */
export function transitionRequest(
  request: PlaybackRequest,
  to: RequestStatus,
  at: Date,
  error?: string,
): StatusWriteOp {
  const from = request.status;
  assertRequestTransition(request.id, from, to);
  const patch: RequestStatusPatch = { status: to };
  if (to === RequestStatus.Playing) patch.startedAt = at;
  if (isFinalRequestStatus(to)) patch.finishedAt = at;
  if (error !== undefined) patch.error = error;
  Object.assign(request, patch);
  return { op: 'moveRequest', id: request.id, from, patch };
}

/** Moves a request's generation status; `totalChunks` when GENERATED, `error` when FAILED. */
export function transitionGeneration(
  request: PlaybackRequest,
  to: GenerationStatus,
  fields: { totalChunks?: number; error?: string } = {},
): StatusWriteOp {
  const from = request.generation;
  assertGenerationTransition(request.id, from, to);
  const patch: GenerationPatch = { generation: to };
  if (fields.totalChunks !== undefined) patch.totalChunks = fields.totalChunks;
  if (fields.error !== undefined) patch.error = fields.error;
  Object.assign(request, patch);
  return { op: 'moveGeneration', id: request.id, from, patch };
}

/** Moves a chunk's status; stamps playedAt when PLAYED. */
export function transitionChunk(chunk: AudioChunk, to: ChunkStatus, at: Date): StatusWriteOp {
  const from = chunk.status;
  assertChunkTransition(chunk.id, from, to);
  const patch: ChunkPatch = { status: to };
  if (to === ChunkStatus.Played) patch.playedAt = at;
  Object.assign(chunk, patch);
  return { op: 'moveChunk', id: chunk.id, from, patch };
}
