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
  type Recovery,
  type RecoveryReport,
  type RecoverStationsOptions,
  type CampaignOwnership,
} from './recovery';
export { createListenerRecords } from './listeners';
export { FileAudioStore, assertAudioKey, InvalidAudioKeyError, type AudioStore } from './audio-store';
export { shardOwnership } from './shards';
export { createPlaybackMetrics, type PlaybackMetrics } from './metrics';
export {
  InvalidTransitionError,
  canTransitionChunk,
  canTransitionGeneration,
  canTransitionRequest,
  isFinalRequestStatus,
  FINAL_REQUEST_STATUSES,
  ACTIVE_REQUEST_STATUSES,
} from './states';
export type * from './repository';
