import type { Clock, TimerHandle } from '../clock';
import { AUDIO_CLEANUP, type Logger } from '../log';
import type { AudioStore } from './audio-store';
import type { PlaybackRepository } from './repository';

/** Options for {@link CleanupTask}. */
export interface CleanupOptions {
  repository: PlaybackRepository;
  store: AudioStore;
  clock: Clock;
  log: Logger;
  /** PLAYED/SKIPPED chunks older than this are deleted with their files. */
  retentionMs: number;
  /** Connections silent for longer are marked disconnected. */
  heartbeatTimeoutMs: number;
  intervalMs?: number;
  /** Chunks deleted per batch (a run loops until none are left). */
  batchSize?: number;
}

/** What one cleanup run did. */
export interface CleanupResult {
  chunksDeleted: number;
  filesDeleted: number;
  connectionsClosed: number;
}

/** Deletes expired audio and closes silent connections every `intervalMs` (default 60 s). */
export class CleanupTask {
  readonly #o: CleanupOptions;
  #timer: TimerHandle | null = null;
  #running: Promise<CleanupResult> | null = null;

  constructor(options: CleanupOptions) {
    this.#o = options;
  }

  start(): void {
    const tick = () => {
      void this.runOnce()
        .catch((err: unknown) =>
          this.#o.log.warn(
            { err: (err as Error).message },
            `${AUDIO_CLEANUP} run failed; next run will retry`,
          ),
        )
        .finally(() => {
          if (this.#timer) this.#timer = this.#o.clock.setTimeout(tick, this.#o.intervalMs ?? 60_000);
        });
    };
    this.#timer = this.#o.clock.setTimeout(tick, this.#o.intervalMs ?? 60_000);
  }

  stop(): void {
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** One pass; concurrent calls share the same run. */
  runOnce(): Promise<CleanupResult> {
    this.#running ??= this.#run().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #run(): Promise<CleanupResult> {
    const { repository, store, clock, log } = this.#o;
    const now = clock.now();
    const before = new Date(now - this.#o.retentionMs);
    const batch = this.#o.batchSize ?? 500;
    const result: CleanupResult = { chunksDeleted: 0, filesDeleted: 0, connectionsClosed: 0 };
    for (;;) {
      const chunks = await repository.findExpiredChunks(before, batch);
      if (chunks.length === 0) break;
      // Rows first: a crash between the two leaves orphan files, never rows without audio.
      result.chunksDeleted += await repository.deleteChunks(chunks.map((c) => c.id));
      for (const c of chunks) {
        await store.delete(c.opusKey);
        await store.delete(c.mp3Key);
        result.filesDeleted += 2;
      }
      if (chunks.length < batch) break;
    }
    result.connectionsClosed = await repository.markStaleConnections(
      new Date(now - this.#o.heartbeatTimeoutMs),
      new Date(now),
    );
    log.info(result, `${AUDIO_CLEANUP} cleanup done`);
    return result;
  }
}
