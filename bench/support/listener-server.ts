// The Bardcast side of bench/listeners.ts, in a process of its own so the load
// generator never measures itself: real engine (PGlite on disk, as `npm
// start` keeps it), real web server, real encoder, system clock. One campaign
// airs requests of 1.5 s chunks back to back for as long as the process
// lives. Reports over IPC: `ready` (url, token), `collected` (memory after a
// forced GC, on request) and `chunkStarted` with the time (ms since the epoch,
// sub-millisecond) each chunk went on air. With `--icecast URL --password PW`
// it also publishes the station to Icecast (src/relay), which is how the
// bench feeds Icecast the same audio.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TokenSigner } from '../../src/auth';
import { systemClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { PrismaPlaybackRepository } from '../../src/db/playback-repository';
import { silentLogger } from '../../src/log';
import { FfmpegAudioEncoder, resolveFfmpeg } from '../../src/narration/encoder';
import { FileAudioStore, startPlaybackEngine } from '../../src/playback';
import { startIcecastPublisher } from '../../src/relay';
import { openBenchDatabase } from './database';
import { startBenchWeb } from './web';

const { values } = parseArgs({
  options: {
    icecast: { type: 'string' },
    password: { type: 'string' },
    'max-ws': { type: 'string', default: '20000' },
    'max-streams': { type: 'string', default: '2000' },
    // A PostgreSQL server URL: the engine uses a database of its own there instead of PGlite.
    postgres: { type: 'string' },
    // Diagnosis: drop the per-listener database rows (connections, deliveries) to see what they cost.
    'no-listener-rows': { type: 'boolean', default: false },
  },
});

const send = (msg: unknown) => process.send?.(msg);
const epochMs = () => performance.timeOrigin + performance.now();
const CHUNK_MS = 1500;
const CHUNKS_PER_REQUEST = 4;

function tonePcm(ms: number, freq: number): Buffer {
  const n = Math.round((ms / 1000) * 48_000);
  const pcm = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * freq * i) / 48_000)), i * 2);
  }
  return pcm;
}

const dir = await mkdtemp(path.join(tmpdir(), 'bardcast-listeners-'));
// PGlite on disk, as `npm start` keeps it (data/pg): an in-memory database would count its tables as the server's memory.
const { db, drop: dropDb } = await openBenchDatabase({
  name: 'bardcast_listeners_bench',
  postgresUrl: values.postgres,
  pgliteDir: path.join(dir, 'pg'),
});
/** Server processes (PostgreSQL backends) working for this server: their CPU is the server's too. */
async function databasePids(): Promise<number[]> {
  if (!values.postgres) return [];
  const rows = await db.prisma.$queryRawUnsafe<{ pid: number }[]>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`,
  );
  return rows.map((r) => Number(r.pid));
}
const engine = await startPlaybackEngine({
  repository: new PrismaPlaybackRepository(db.prisma, db.ping),
  store: new FileAudioStore(dir),
  clock: systemClock,
  log: silentLogger,
  gapMs: 400,
});
await engine.campaigns.ensure('c1', { name: 'Bench campaign' });
if (values['no-listener-rows']) {
  const l = engine.listeners;
  l.opened = () => Promise.resolve();
  l.heartbeat = () => Promise.resolve();
  l.closed = () => Promise.resolve();
  l.recordConnections = () => Promise.resolve();
  l.recordDeliveries = () => Promise.resolve();
}
const secret = 'listeners-bench-secret-0123456789';
const tokens = new TokenSigner(secret);
const config = loadConfig({
  TOKEN_SECRET: secret,
  HOST: '127.0.0.1',
  PORT: '0',
  DEFAULT_CAMPAIGN: 'c1',
  MAX_WS_CONNECTIONS: values['max-ws'],
  MAX_AUDIO_STREAMS: values['max-streams'],
});
const web = await startBenchWeb(engine, config, tokens);
const encoder = new FfmpegAudioEncoder({ ffmpegPath: resolveFfmpeg().path });
const tones = await Promise.all(
  [330, 440, 550, 660].map((f) =>
    encoder.encode({ data: tonePcm(CHUNK_MS, f), format: 'pcm_s16le', sampleRate: 48_000 }),
  ),
);

engine.stations.on('chunkStarted', ({ chunk }) =>
  send({ type: 'chunkStarted', chunkId: chunk.id, at: epochMs() }),
);

// Keep two requests queued: the station never runs dry.
let stopping = false;
async function queueRequest(): Promise<void> {
  const r = await engine.writer.create('c1', 'listeners bench', { mode: 'say' });
  for (let i = 0; i < CHUNKS_PER_REQUEST; i++) {
    await engine.writer.addChunk(r.id, i, { text: `sentence ${i}`, audio: tones[i % tones.length]! });
  }
  await engine.writer.complete(r.id, CHUNKS_PER_REQUEST);
}
await queueRequest();
await queueRequest();
engine.stations.on('requestEnded', () => {
  // A write racing the shutdown (its directory already gone) is not an error of the bench.
  if (!stopping) void queueRequest().catch((err: unknown) => (stopping ? undefined : Promise.reject(err)));
});

let publisher: { close(): void } | null = null;
if (values.icecast) {
  publisher = await startIcecastPublisher({
    settings: {
      url: values.icecast,
      user: 'source',
      password: values.password ?? '',
      mount: '/{campaign}.mp3',
      campaigns: ['c1'],
    },
    engine,
    clock: systemClock,
    log: silentLogger,
  });
}

send({ type: 'ready', url: web.url, token: tokens.sign('c1', 'player', 3600) });

async function shutdown(): Promise<void> {
  stopping = true;
  publisher?.close();
  await web.close();
  await engine.stop();
  await db.close();
  await dropDb().catch(() => {});
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
}
/**
 * Memory after a full collection (the child runs with --expose-gc): RSS read
 * from /proc by the bench right after this answers, heap and external here.
 */
function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  send({ type: 'collected', gc: gc !== undefined, rss: m.rss, heapUsed: m.heapUsed, external: m.external });
}

process.on('message', (m: { type?: string }) => {
  if (m.type === 'stop') void shutdown();
  if (m.type === 'collect') collect();
  if (m.type === 'dbPids') void databasePids().then((pids) => send({ type: 'dbPids', pids }));
});
process.on('disconnect', () => void shutdown());
