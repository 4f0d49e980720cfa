import { ChunkStatus, GenerationStatus, RequestStatus, type FinalRequestStatus } from './types';

/**
 * The allowed transitions of each aggregate (DESIGN.md "States"). Every status
 * change goes through one of the `assert…` functions below, so a refused
 * transition is an error at the one place that tried it.
 */

const REQUEST: Record<RequestStatus, readonly RequestStatus[]> = {
  [RequestStatus.Pending]: [RequestStatus.Playing, RequestStatus.Cancelled, RequestStatus.Failed],
  [RequestStatus.Playing]: [RequestStatus.Played, RequestStatus.Failed, RequestStatus.Cancelled],
  [RequestStatus.Played]: [],
  [RequestStatus.Failed]: [],
  [RequestStatus.Cancelled]: [],
};

const GENERATION: Record<GenerationStatus, readonly GenerationStatus[]> = {
  [GenerationStatus.Pending]: [
    GenerationStatus.Generating,
    GenerationStatus.Generated,
    GenerationStatus.Failed,
  ],
  [GenerationStatus.Generating]: [GenerationStatus.Generated, GenerationStatus.Failed],
  [GenerationStatus.Generated]: [],
  [GenerationStatus.Failed]: [],
};

const CHUNK: Record<ChunkStatus, readonly ChunkStatus[]> = {
  [ChunkStatus.Ready]: [ChunkStatus.Playing, ChunkStatus.Skipped],
  [ChunkStatus.Playing]: [ChunkStatus.Played, ChunkStatus.Skipped, ChunkStatus.Ready],
  [ChunkStatus.Played]: [],
  [ChunkStatus.Skipped]: [],
};

/** A refused state transition; carries the aggregate and both states. */
export class InvalidTransitionError extends Error {
  constructor(
    readonly aggregate: 'request' | 'generation' | 'chunk',
    readonly id: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(`${aggregate} ${id}: ${from} → ${to} is not allowed`);
    this.name = 'InvalidTransitionError';
  }
}

/**
 * True when a request in `status` can no longer change: the one definition of
 * "final" (the writer, the station, recovery and the database all use it).
 */
export function isFinalRequestStatus(status: RequestStatus): status is FinalRequestStatus {
  return REQUEST[status].length === 0;
}

/** Statuses a request ends in (history). */
export const FINAL_REQUEST_STATUSES: readonly FinalRequestStatus[] =
  Object.values(RequestStatus).filter(isFinalRequestStatus);

/** Statuses of a request still in a station's queue (recovery). */
export const ACTIVE_REQUEST_STATUSES: readonly RequestStatus[] = Object.values(RequestStatus).filter(
  (s) => !isFinalRequestStatus(s),
);

/** True when generation in `status` can no longer change. */
export function isFinalGeneration(status: GenerationStatus): boolean {
  return GENERATION[status].length === 0;
}

export function canTransitionRequest(from: RequestStatus, to: RequestStatus): boolean {
  return REQUEST[from].includes(to);
}

export function canTransitionGeneration(from: GenerationStatus, to: GenerationStatus): boolean {
  return GENERATION[from].includes(to);
}

/**
 * Chunk transitions. PLAYING → READY is allowed only for recovery: a chunk
 * that was on air when the process died is aired again from its start.
 */
export function canTransitionChunk(from: ChunkStatus, to: ChunkStatus): boolean {
  return CHUNK[from].includes(to);
}

export function assertRequestTransition(id: string, from: RequestStatus, to: RequestStatus): void {
  if (!canTransitionRequest(from, to)) throw new InvalidTransitionError('request', id, from, to);
}

export function assertGenerationTransition(id: string, from: GenerationStatus, to: GenerationStatus): void {
  if (!canTransitionGeneration(from, to)) throw new InvalidTransitionError('generation', id, from, to);
}

export function assertChunkTransition(id: string, from: ChunkStatus, to: ChunkStatus): void {
  if (!canTransitionChunk(from, to)) throw new InvalidTransitionError('chunk', id, from, to);
}
