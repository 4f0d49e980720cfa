/**
 * The playback engine: everything after "a chunk of audio exists" and before
 * "a sink plays it". Bot, web and narration import from here only.
 */
export * from './types';
export * from './station-types';
export { Station, type StationOptions } from './station';
export { StationRegistry, type StationRegistryOptions } from './stations';
export {
  PlaybackRequestWriter,
  RequestClosedError,
  ChunkSequenceError,
  type ChunkInput,
  type PlaybackRequestWriterOptions,
} from './writer';
export { startPlaybackEngine, type PlaybackEngine, type PlaybackEngineOptions } from './engine';
export { CampaignDirectory, type CampaignSettings } from './campaigns';
export { CleanupTask, type CleanupOptions, type CleanupResult } from './cleanup';
export { ResilientRepository, isDataError, type ResilientRepositoryOptions } from './fallback';
export {
  recoverStations,
  INTERRUPTED_GENERATION,
  type RecoveryReport,
  type CampaignOwnership,
} from './recovery';
export { FileAudioStore, assertAudioKey, InvalidAudioKeyError, type AudioStore } from './audio-store';
export { shardOwnership } from './shards';
export { createPlaybackMetrics, type PlaybackMetrics } from './metrics';
export {
  InvalidTransitionError,
  canTransitionChunk,
  canTransitionGeneration,
  canTransitionRequest,
  isFinalRequestStatus,
} from './states';
export type * from './repository';
