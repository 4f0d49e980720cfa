// Voice playbacks per core. A loopback voice server (bench/support/voice-server.ts:
// voice gateway over TLS, UDP, aead_aes256_gcm_rtpsize, every packet decrypted
// and authenticated) receives N concurrent guild playbacks from a player
// process of its own (bench/support/voice-player.ts), three ways, same run:
// Bardcast's own voice path, the floor (pre-encoded Ogg Opus straight into
// @discordjs/voice) and the music-bot way (ffmpeg per stream, Arbitrary).
// Per row: CPU % of one core per playback (ffmpeg children included), RSS per
// playback, packets/s per player, frames > 5 ms late per 10,000, the longest
// gap between two packets of one player (a 20 ms cycle that ran long), the
// player process's longest event-loop stall and GC pause, and how long after
// "all N start in one tick" the last player's first packet arrived.
// `--n 1,50,200,500 --paths floor,bardcast,ffmpeg --window 20 --ffmpeg-max 50`
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadLine, percentile, table } from './support/proc';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1,50,200,500' },
    paths: { type: 'string', default: 'floor,bardcast,bardcast-pg,ffmpeg' },
    window: { type: 'string', default: '20' },
    'ffmpeg-max': { type: 'string', default: '50' },
    // Diagnosis: write a CPU profile of each player process into this directory.
    'cpu-prof': { type: 'string' },
    // Also run Bardcast's path with its database on this PostgreSQL server (out of process).
    postgres: { type: 'string', default: process.env['TEST_DATABASE_URL'] ?? '' },
  },
  strict: false,
});
const SIZES = String(values.n).split(',').map(Number);
const PATHS = String(values.paths).split(',');
const WINDOW = String(values.window);
const FFMPEG_MAX = Number(values['ffmpeg-max']);

const deadline = setTimeout(() => {
  console.error('voice bench: overall time limit reached; stopping');
  process.exit(1);
}, 30 * 60_000);
deadline.unref();

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

// A throwaway certificate for the loopback voice gateway (the library speaks wss://).
const certDir = mkdtempSync(path.join(tmpdir(), 'bardcast-voice-cert-'));
const cert = path.join(certDir, 'cert.pem');
const key = path.join(certDir, 'key.pem');
execFileSync(
  'openssl',
  [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'],
    ...['-addext', 'subjectAltName=IP:127.0.0.1'],
  ],
  { stdio: 'ignore' },
);

function forkTs(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  execArgv: string[] = [],
): ChildProcess {
  const child = fork(path.join(import.meta.dirname, file), args, {
    execArgv: ['--import', 'tsx', '--expose-gc', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env,
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function next<T>(child: ChildProcess, type: string, timeoutMs = 600_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${type}`)), timeoutMs);
    const onMessage = (m: { type: string }) => {
      if (m.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${type}: process exited with ${code}`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

const server = forkTs('support/voice-server.ts', ['--cert', cert, '--key', key]);
const { endpoint } = await next<{ endpoint: string }>(server, 'ready');

interface PeerStats {
  ssrc: number;
  packets: number;
  failed: number;
  firstAt: number;
  packetsPerSec?: number;
  late5?: number;
  maxLateMs?: number;
  maxGapMs?: number;
}
interface PlayerResult {
  n: number;
  mode: string;
  windowSec: number;
  cpuSec: number;
  rssBaseKiB: number;
  rssKiB: number;
  processes: number;
  burstAt: number;
  startCallMs: number;
  startEldMaxMs: number;
  startSchedulerMaxMs: number;
  eldMaxMs: number;
  eldP99Ms: number;
  schedulerMaxMs: number;
  startSchedulerCpuMs: number;
  schedulerCpuMs: number;
  gcMaxMs: number;
  gcTotalMs: number;
}

async function run(mode: string, n: number) {
  const pgArgs = mode === 'bardcast-pg' ? ['--postgres', String(values.postgres)] : [];
  const playerMode = mode === 'bardcast-pg' ? 'bardcast' : mode;
  server.send({ type: 'forget' });
  await next(server, 'forget-done');
  const player = forkTs(
    'support/voice-player.ts',
    ['--path', playerMode, '--n', String(n), '--window', WINDOW, '--endpoint', endpoint, ...pgArgs],
    { ...process.env, NODE_EXTRA_CA_CERTS: cert },
    values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${String(values['cpu-prof'])}`] : [],
  );
  const started = await next<{ burstAt: number }>(player, 'started');
  const first = await statsOf();
  server.send({ type: 'reset' });
  await next(server, 'reset-done');
  const resultP = next<PlayerResult>(player, 'result');
  player.send({ type: 'go' });
  const result = await resultP;
  const peers = await statsOf();
  await new Promise<void>((r) => (player.exitCode !== null ? r() : player.once('exit', () => r())));
  return { started, first, result, peers };
}

async function statsOf(): Promise<PeerStats[]> {
  const p = next<{ perSsrc: PeerStats[] }>(server, 'stats');
  server.send({ type: 'stats' });
  return (await p).perSsrc;
}

const LABEL: Record<string, string> = {
  floor: 'floor: Ogg Opus file → library',
  bardcast: 'Bardcast: station → sink → feed',
  'bardcast-pg': 'Bardcast, database on PostgreSQL',
  ffmpeg: 'music bot: ffmpeg per stream',
};
console.log(
  `\nVoice playbacks: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, @discordjs/voice 0.19.2; ${loadLine()} at start`,
);
const rows: (string | number)[][] = [];
const f = (x: number | undefined, d = 1) => (x !== undefined && Number.isFinite(x) ? x.toFixed(d) : '—');
for (const n of SIZES) {
  for (const mode of PATHS) {
    if (mode === 'ffmpeg' && n > FFMPEG_MAX) continue;
    if (mode === 'bardcast-pg' && !values.postgres) continue;
    const { started, first, result: r, peers } = await run(mode, n);
    const firstLatency = first.map((p) =>
      p.firstAt > 0 ? p.firstAt - started.burstAt : Number.POSITIVE_INFINITY,
    );
    const pps = peers.map((p) => p.packetsPerSec ?? 0);
    const packets = peers.reduce((s, p) => s + p.packets, 0);
    const late = peers.reduce((s, p) => s + (p.late5 ?? 0), 0);
    const failed = peers.reduce((s, p) => s + p.failed, 0);
    rows.push([
      n,
      LABEL[mode] ?? mode,
      f((r.cpuSec / r.windowSec / n) * 100, 3),
      f((r.rssKiB - r.rssBaseKiB) / 1024 / n, 2),
      `${f(Math.min(...pps), 1)} / ${f(percentile(pps, 50), 1)}`,
      f((late / Math.max(1, packets)) * 10_000, 0),
      f(Math.max(...peers.map((p) => p.maxGapMs ?? 0)), 0),
      f(r.eldMaxMs, 0),
      f(r.gcMaxMs, 0),
      f(Math.max(...firstLatency), 0),
      f(r.startEldMaxMs, 0),
      mode.startsWith('bardcast')
        ? `${f(Math.max(r.startSchedulerCpuMs, r.schedulerCpuMs), 2)} / ${f(Math.max(r.startSchedulerMaxMs, r.schedulerMaxMs), 1)}`
        : '—',
      `${peers.filter((p) => p.packets > 0).length}/${n}${failed ? ` (${failed} failed auth)` : ''}`,
    ]);
    console.log(`  ${mode} N=${n}: done; ${loadLine()}`);
  }
}
console.log(
  `\n${table(
    [
      'N',
      'path',
      'CPU % of a core / playback',
      'RSS MB / playback',
      'packets/s per player (min / median)',
      'frames > 5 ms late per 10,000',
      'longest packet gap (ms)',
      'longest event-loop stall (ms)',
      'longest GC pause (ms)',
      'all started: last first packet (ms)',
      'stall while starting (ms)',
      'longest paging run, CPU / wall (ms)',
      'players heard',
    ],
    rows,
  )}`,
);
console.log(`\nWindow ${WINDOW} s per row after a 3 s settle; ${loadLine()} at end.`);
server.send({ type: 'stop' });
rmSync(certDir, { recursive: true, force: true });
process.exit(0);
