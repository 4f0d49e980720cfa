import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The playback engine's Prometheus metrics; one set per registry. */
export interface PlaybackMetrics {
  registry: Registry;
  /** Requests currently in each status (set from station memory). */
  requestsByStatus: Gauge<'status'>;
  /** Seconds from TTS start to a stored chunk (filled by the narration pipeline). */
  chunkGenerationSeconds: Histogram;
  /** Seconds from a prompt arriving to its first chunk on air. */
  timeToFirstAudioSeconds: Histogram;
  /** Times the on-air request had to wait for its next chunk. */
  stationUnderruns: Counter;
  /** 1 while the database is unreachable and writes are journalled. */
  dbFallbackActive: Gauge;
}

/** Creates the metrics on `registry` (a fresh one by default, so tests don't collide). */
export function createPlaybackMetrics(registry = new Registry()): PlaybackMetrics {
  return {
    registry,
    requestsByStatus: new Gauge({
      name: 'bardcast_requests',
      help: 'Playback requests by status',
      labelNames: ['status'],
      registers: [registry],
    }),
    chunkGenerationSeconds: new Histogram({
      name: 'bardcast_chunk_generation_seconds',
      help: 'TTS + encode time per chunk',
      buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 16],
      registers: [registry],
    }),
    timeToFirstAudioSeconds: new Histogram({
      name: 'bardcast_time_to_first_audio_seconds',
      help: 'Prompt received to first chunk on air',
      buckets: [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
      registers: [registry],
    }),
    stationUnderruns: new Counter({
      name: 'bardcast_station_underruns_total',
      help: 'Times the on-air request waited for its next chunk',
      registers: [registry],
    }),
    dbFallbackActive: new Gauge({
      name: 'bardcast_db_fallback_active',
      help: '1 while the database is unreachable and writes are journalled',
      registers: [registry],
    }),
  };
}
