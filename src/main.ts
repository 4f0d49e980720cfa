import http from 'node:http';
import path from 'node:path';
import { TokenSigner } from './auth';
import { systemClock } from './clock';
import { ConfigError, loadConfig, type Config } from './config';
import { openDatabase, type Database } from './db';
import { PrismaPlaybackRepository } from './db/playback-repository';
import { createLogger, type Logger } from './log';
import { FileAudioStore, startPlaybackEngine, type PlaybackEngine } from './playback';
import { loadTokenSecret } from './secret';

/** Composition root: config → database → engine → sinks; shuts down cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee .env.example for every setting.\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel });
  const stopping: (() => Promise<void>)[] = [];
  const shutdown = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    for (const stop of stopping.reverse())
      await stop().catch((err: unknown) => log.error({ err }, 'shutdown step failed'));
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  const db = await openStore(config, log);
  stopping.push(() => db.close());
  const engine = await startPlaybackEngine({
    repository: new PrismaPlaybackRepository(db.prisma, db.ping),
    store: new FileAudioStore(config.audioDir),
    clock: systemClock,
    log,
    gapMs: config.gapBetweenRequestsMs,
    stallTimeoutMs: config.stallTimeoutMs,
    retentionMs: config.retentionDays * 24 * 3600 * 1000,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    cleanupIntervalMs: config.cleanupIntervalMs,
    dbRetryIntervalMs: config.dbRetryIntervalMs,
    journalFile: path.join(config.dataDir, 'journal.ndjson'),
  });
  engine.cleanup.start();
  stopping.push(() => engine.stop());
  await engine.campaigns.ensure(config.defaultCampaign, { name: 'Demo campaign' });
  const tokens = new TokenSigner(await loadTokenSecret(config.tokenSecret, config.dataDir));
  void tokens;

  const server = await startHealthServer(config, engine, log);
  stopping.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
}

async function openStore(config: Config, log: Logger): Promise<Database> {
  if (config.databaseUrl) {
    log.info('database: PostgreSQL server (DATABASE_URL)');
    return openDatabase({ kind: 'postgres', url: config.databaseUrl }, log);
  }
  log.info({ dir: config.pgliteDir }, 'database: embedded PGlite');
  return openDatabase({ kind: 'pglite', dataDir: config.pgliteDir }, log);
}

/** Minimal HTTP surface until the web companion lands: GET /healthz. */
async function startHealthServer(config: Config, engine: PlaybackEngine, log: Logger): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') {
      void Promise.all([
        engine.repository.ping().then(
          () => 'ok',
          (e: unknown) => `down: ${(e as Error).message}`,
        ),
        engine.store.check().then(
          () => 'ok',
          (e: unknown) => `down: ${(e as Error).message}`,
        ),
      ]).then(([database, store]) => {
        const ok = database === 'ok' && store === 'ok';
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ok' : 'degraded', checks: { database, store } }));
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'not_found', message: 'no such endpoint' } }));
  });
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  log.info(`Bardcast listening on ${config.publicUrl}`);
  return server;
}

main().catch((err: unknown) => {
  process.stderr.write(`Bardcast failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
