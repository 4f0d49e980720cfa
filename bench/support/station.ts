/**
 * What the in-process narration benchmarks run on: on-disk PGlite and audio
 * in a temp dir, a playback engine on the real clock with metrics, one
 * campaign, and the fake OpenAI server with the latencies a benchmark gives.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { systemClock } from '../../src/clock';
import { openDatabase, type Database } from '../../src/db';
import { PrismaPlaybackRepository } from '../../src/db/playback-repository';
import { silentLogger } from '../../src/log';
import { FakeOpenAiServer } from '../../src/narration';
import {
  createPlaybackMetrics,
  FileAudioStore,
  startPlaybackEngine,
  type PlaybackEngine,
} from '../../src/playback';

/** A benchmark's station: see the module comment. */
export interface BenchStation {
  db: Database;
  engine: PlaybackEngine;
  server: FakeOpenAiServer;
  /** The fake server's `/v1` URL. */
  url: string;
  /** Stops the server, the engine and the database, and removes the temp dir. */
  close(): Promise<void>;
}

/** Starts a {@link BenchStation} for `campaignId`; `prefix` names its temp dir. */
export async function startBenchStation(
  prefix: string,
  campaignId: string,
  openai: ConstructorParameters<typeof FakeOpenAiServer>[0],
): Promise<BenchStation> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  const db = await openDatabase({ kind: 'pglite', dataDir: path.join(dir, 'pg') }, silentLogger);
  const engine = await startPlaybackEngine({
    repository: new PrismaPlaybackRepository(db.prisma, db.ping),
    store: new FileAudioStore(path.join(dir, 'audio')),
    clock: systemClock,
    log: silentLogger,
    metrics: createPlaybackMetrics(),
    cleanupIntervalMs: 3_600_000,
  });
  await engine.campaigns.ensure(campaignId, { name: 'Benchmark' });
  const server = new FakeOpenAiServer(openai);
  const { url } = await server.start();
  return {
    db,
    engine,
    server,
    url,
    close: async () => {
      await server.stop();
      await engine.stop();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
