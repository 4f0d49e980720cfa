import type { Clock } from '../clock';
import type { Logger } from '../log';
import type { AudioStore } from './audio-store';
import { CampaignDirectory } from './campaigns';
import { CleanupTask } from './cleanup';
import { ResilientRepository } from './fallback';
import { createPlaybackMetrics, type PlaybackMetrics } from './metrics';
import { createListenerRecords } from './listeners';
import { recoverStations, type CampaignOwnership, type RecoveryReport } from './recovery';
import type { ListenerRecords, PlaybackRepository, RequestWithChunks } from './repository';
import { StationRegistry } from './stations';
import { PlaybackRequestWriter } from './writer';

/** Options for {@link startPlaybackEngine}. */
export interface PlaybackEngineOptions {
  /** The database-backed repository; the engine wraps it in a {@link ResilientRepository}. */
  repository: PlaybackRepository;
  store: AudioStore;
  clock: Clock;
  log: Logger;
  metrics?: PlaybackMetrics;
  gapMs?: number;
  stallTimeoutMs?: number;
  retentionMs?: number;
  heartbeatTimeoutMs?: number;
  cleanupIntervalMs?: number;
  dbRetryIntervalMs?: number;
  /** Journal file for writes made during a database outage. */
  journalFile?: string;
  /** Campaigns this process recovers at start-up (sharding); all by default. */
  ownsCampaign?: CampaignOwnership;
}

/** The running playback engine: what the bot, the web companion and the narration pipeline use. */
export interface PlaybackEngine {
  /**
   * Reads, and waiting for writes to be durable. No writes: request and chunk
   * statuses change only inside the engine, the web's rows through {@link listeners}.
   */
  repository: Omit<ResilientRepository, 'apply'>;
  /** The web companion's connection and delivery rows. */
  listeners: ListenerRecords;
  stations: StationRegistry;
  writer: PlaybackRequestWriter;
  campaigns: CampaignDirectory;
  cleanup: CleanupTask;
  metrics: PlaybackMetrics;
  store: AudioStore;
  recovery: RecoveryReport;
  /**
   * Hands over (once) the requests whose generation a restart interrupted, in
   * queue order: the narration pipeline continues them. Later calls get `[]`.
   */
  takeInterrupted(): RequestWithChunks[];
  /** Stops timers and flushes pending writes. */
  stop(): Promise<void>;
}

/**
 * Builds the engine and recovers every campaign from storage: replays a
 * journal left by a crash during an outage, then resumes the stations.
 */
export async function startPlaybackEngine(options: PlaybackEngineOptions): Promise<PlaybackEngine> {
  const metrics = options.metrics ?? createPlaybackMetrics();
  const log = options.log;
  const repository = new ResilientRepository(options.repository, {
    clock: options.clock,
    log,
    metrics,
    ...(options.dbRetryIntervalMs === undefined ? {} : { retryIntervalMs: options.dbRetryIntervalMs }),
    ...(options.journalFile === undefined ? {} : { journalFile: options.journalFile }),
  });
  await repository.recoverJournal();
  const stations = new StationRegistry({
    clock: options.clock,
    log,
    repository,
    metrics,
    ...(options.gapMs === undefined ? {} : { gapMs: options.gapMs }),
    ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
  });
  const queueSeqs = await repository.maxQueueSeqs();
  const writer = new PlaybackRequestWriter({
    repository,
    store: options.store,
    stations,
    clock: options.clock,
    log,
    queueSeqs,
  });
  const recovered = await recoverStations({
    repository,
    stations,
    writer,
    log,
    now: new Date(options.clock.now()),
    ...(options.ownsCampaign ? { ownsCampaign: options.ownsCampaign } : {}),
  });
  let interrupted = recovered.interrupted;
  const cleanup = new CleanupTask({
    repository,
    store: options.store,
    clock: options.clock,
    log,
    retentionMs: options.retentionMs ?? 7 * 24 * 3600 * 1000,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 90_000,
    ...(options.cleanupIntervalMs === undefined ? {} : { intervalMs: options.cleanupIntervalMs }),
  });
  return {
    repository,
    listeners: createListenerRecords(repository),
    stations,
    writer,
    campaigns: new CampaignDirectory(repository),
    cleanup,
    metrics,
    store: options.store,
    recovery: recovered.report,
    takeInterrupted: () => {
      const taken = interrupted;
      interrupted = [];
      return taken;
    },
    stop: async () => {
      cleanup.stop();
      stations.destroy();
      await repository.flush();
      repository.close();
    },
  };
}
