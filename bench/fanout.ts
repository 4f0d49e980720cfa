// Fan-out benchmark: one station, many listeners on loopback. How long after a
// chunk goes on air do N WebSocket listeners get the schedule naming it, how
// much memory does a listener cost, and do live-MP3 listeners keep up with the
// clock? Real engine (in-memory PGlite), real encoder, real web server, real
// sockets; the system clock. Prints a table; `--listeners N --live M`.
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { TokenSigner } from '../src/auth';
import { systemClock } from '../src/clock';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db';
import { PrismaPlaybackRepository } from '../src/db/playback-repository';
import { silentLogger } from '../src/log';
import { FfmpegAudioEncoder, resolveFfmpeg } from '../src/narration/encoder';
import { FileAudioStore, startPlaybackEngine, type EncodedAudio } from '../src/playback';
import { startBenchWeb } from './support/web';

const { values } = parseArgs({
  options: {
    listeners: { type: 'string', default: '200' },
    live: { type: 'string', default: '20' },
    chunks: { type: 'string', default: '6' },
    // Diagnosis: drop per-connection delivery writes to see what they cost.
    'no-delivery-writes': { type: 'boolean', default: false },
  },
  strict: false,
});
const N = Number(values.listeners);
const LIVE = Number(values.live);
const CHUNKS = Number(values.chunks);
const CHUNK_MS = 1500;

function sine(ms: number): Buffer {
  const n = Math.round((ms / 1000) * 48_000);
  const pcm = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++)
    pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 330 * i) / 48_000)), i * 2);
  return pcm;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

const heapMb = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

const dir = await mkdtemp(path.join(tmpdir(), 'bardcast-fanout-'));
const db = await openDatabase({ kind: 'pglite', dataDir: undefined }, silentLogger);
const engine = await startPlaybackEngine({
  repository: new PrismaPlaybackRepository(db.prisma, db.ping),
  store: new FileAudioStore(dir),
  clock: systemClock,
  log: silentLogger,
});
await engine.campaigns.ensure('c1');
if (values['no-delivery-writes']) {
  engine.listeners.recordDeliveries = () => Promise.resolve();
}
const secret = 'fanout-bench-secret-0123456789';
const tokens = new TokenSigner(secret);
const config = loadConfig({ TOKEN_SECRET: secret, HOST: '127.0.0.1', PORT: '0', DEFAULT_CAMPAIGN: 'c1' });
const web = await startBenchWeb(engine, config, tokens);
const encoder = new FfmpegAudioEncoder({ ffmpegPath: resolveFfmpeg().path });
const audio: EncodedAudio = await encoder.encode({
  data: sine(CHUNK_MS),
  format: 'pcm_s16le',
  sampleRate: 48_000,
});

const heapBefore = heapMb();
const t0 = performance.now();
const received = new Map<string, number[]>(); // chunk id → receive times (performance.now)
const sockets: WebSocket[] = [];
await Promise.all(
  Array.from({ length: N }, (_, i) => {
    const ws = new WebSocket(
      `${web.url.replace('http', 'ws')}/ws?campaign=c1&token=${tokens.sign('c1', 'player', 3600)}&client=bench${String(i).padStart(6, '0')}`,
    );
    sockets.push(ws);
    const seen = new Set<string>();
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { type: string; entries?: { chunk_id: string }[] };
      if (msg.type !== 'station_schedule') return;
      const first = msg.entries?.[0];
      // The first schedule naming a chunk as on air; later ones repeat it (more chunks generated).
      if (!first || seen.has(first.chunk_id)) return;
      seen.add(first.chunk_id);
      const list = received.get(first.chunk_id) ?? [];
      list.push(performance.now());
      received.set(first.chunk_id, list);
    });
    return new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
  }),
);
const connectMs = performance.now() - t0;
const heapConnected = heapMb();

// Live MP3 listeners count the bytes they get.
const liveBytes: number[] = Array.from({ length: LIVE }, () => 0);
const liveReqs = Array.from({ length: LIVE }, (_, i) =>
  http.get(`${web.url}/api/campaigns/c1/audio/live?token=${tokens.sign('c1', 'player', 3600)}`, (res) => {
    res.on('data', (d: Buffer) => (liveBytes[i] = (liveBytes[i] ?? 0) + d.length));
  }),
);

const onAir = new Map<string, number>();
engine.stations.on('chunkStarted', ({ chunk }) => onAir.set(chunk.id, performance.now()));
const liveStart = performance.now();
const request = await engine.writer.create('c1', 'fan-out bench');
for (let i = 0; i < CHUNKS; i++) await engine.writer.addChunk(request.id, i, { text: `s${i}`, audio });
await engine.writer.complete(request.id, CHUNKS);
await new Promise<void>((resolve) => engine.stations.on('requestEnded', () => resolve()));
await new Promise((r) => setTimeout(r, 300));
const liveElapsed = (performance.now() - liveStart) / 1000;

const delays: number[] = [];
let complete = 0;
for (const [chunkId, startedAt] of onAir) {
  const times = received.get(chunkId) ?? [];
  if (times.length === N) complete++;
  for (const t of times) delays.push(t - startedAt);
}
const heapAfter = heapMb();
const expectedLiveBytes = (liveElapsed * 64_000) / 8;

const rows: [string, string][] = [
  ['WebSocket listeners', String(N)],
  ['connect all (ms)', connectMs.toFixed(0)],
  ['heap per listener (KiB)', (((heapConnected - heapBefore) * 1024) / N).toFixed(1)],
  ['chunks on air', String(onAir.size)],
  ['chunks seen by every listener', `${complete}/${onAir.size}`],
  ['schedule delivery p50 (ms)', pct(delays, 50).toFixed(1)],
  ['schedule delivery p99 (ms)', pct(delays, 99).toFixed(1)],
  ['schedule delivery max (ms)', Math.max(...delays).toFixed(1)],
  ['live MP3 listeners', String(LIVE)],
  ['live bytes / expected at 64 kbps (min)', (Math.min(...liveBytes) / expectedLiveBytes).toFixed(3)],
  ['live bytes / expected at 64 kbps (max)', (Math.max(...liveBytes) / expectedLiveBytes).toFixed(3)],
  ['heap after run (MiB)', heapAfter.toFixed(1)],
];
const w = Math.max(...rows.map((r) => r[0].length));
console.log(`\nFan-out: ${N} WebSocket + ${LIVE} live-MP3 listeners, ${CHUNKS} × ${CHUNK_MS} ms chunks\n`);
console.log(`| ${'measure'.padEnd(w)} | value |\n| ${'-'.repeat(w)} | ----: |`);
for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);

for (const s of sockets) s.terminate();
for (const r of liveReqs) r.destroy();
await web.close();
await engine.stop();
await db.close();
await rm(dir, { recursive: true, force: true });
process.exit(0);
