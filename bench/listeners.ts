// Web listeners at scale, beside Icecast. This process is only the load
// generator; Bardcast runs in a child (bench/support/listener-server.ts) airing
// 1.5 s chunks back to back, and Icecast 2.4 (Debian's icecast2) runs as its
// own process, fed the same station by Bardcast's Icecast publisher.
//
// For each N (default 1000, 5000, 10000):
//  - Bardcast: N WebSockets, each with its own tab id, plus the live MP3 for
//    a share of them (--live-share, default 0.1). Connect rate, server RSS per
//    listener, server CPU in a steady window, fan-out from each chunk going on
//    air (server side) to every client's `station_schedule` naming it, and
//    whether each live MP3 kept real time (audio received vs time elapsed).
//  - Bardcast on PostgreSQL (--postgres URL, default $TEST_DATABASE_URL; at
//    --postgres-n, default 5000): the same, its database backends' CPU counted.
//  - Icecast: N MP3 listeners of the mount. Connect rate, RSS and CPU per
//    listener, real time, and how far behind live a player that starts at
//    once plays (the audio Icecast hands a new listener at once, its burst).
// Loopback only; every phase has a time bound; children are stopped at exit.
// `--n 1000,5000 --window 10 --live-share 0.1 --connect-timeout 90 --no-icecast`
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { icecastInstalled, startIcecast, type IcecastServer } from '../test/support/icecast';
import { Mp3Counter } from './support/mp3-counter';
import { cpuSeconds, loadLine, percentile, rssKiB, table } from './support/proc';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000,5000,10000' },
    window: { type: 'string', default: '10' },
    'live-share': { type: 'string', default: '0.1' },
    // Icecast accepts 15–100 listeners a second here: the cut-off bounds the section (~8 min by default).
    'connect-timeout': { type: 'string', default: '90' },
    'no-icecast': { type: 'boolean', default: false },
    // Also Bardcast on a PostgreSQL server at these N (its backends' CPU counted); skipped when empty.
    postgres: { type: 'string', default: process.env['TEST_DATABASE_URL'] ?? '' },
    'postgres-n': { type: 'string', default: '5000' },
    // Diagnosis: the server skips per-listener database rows.
    'no-listener-rows': { type: 'boolean', default: false },
  },
  strict: false,
});
const SIZES = String(values.n).split(',').map(Number);
const POSTGRES_SIZES = String(values['postgres-n']).split(',').map(Number);
const WINDOW_S = Number(values.window);
const LIVE_SHARE = Number(values['live-share']);
const CONNECT_TIMEOUT_MS = Number(values['connect-timeout']) * 1000;
/** Connections being opened at once: Node's listen backlog is 511; Icecast's is 5, so more only makes it retry SYNs. */
const IN_FLIGHT = { bardcast: 200, icecast: 8 };
const epochMs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The whole bench stops by itself (it takes ~8 min with the defaults; `npm run bench` budgets 12).
const deadline = setTimeout(() => {
  console.error('listeners bench: overall time limit reached; stopping');
  cleanup();
  process.exit(1);
}, 20 * 60_000);
deadline.unref();

const children = new Set<ChildProcess>();
const icecasts = new Set<IcecastServer>();
function cleanup(): void {
  for (const c of children) c.kill('SIGKILL');
  for (const i of icecasts) void i.stop();
}
process.on('exit', cleanup);

/** The server's memory after a forced full GC (RSS from /proc, heap and external from the child). */
interface Collected {
  rssKiB: number;
  heapKiB: number;
  externalKiB: number;
}

interface ServerChild {
  child: ChildProcess;
  url: string;
  token: string;
  chunkStarts: Map<string, number>;
  /** Forces two full collections in the server, then reads its memory. */
  collect(): Promise<Collected>;
  /** PostgreSQL backends serving the server (none on PGlite). */
  dbPids(): Promise<number[]>;
  stop(): Promise<void>;
}

async function startServer(extra: string[] = []): Promise<ServerChild> {
  const child = fork(path.join(import.meta.dirname, 'support/listener-server.ts'), extra, {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  const chunkStarts = new Map<string, number>();
  let onCollected: ((m: { heapUsed: number; external: number }) => void) | null = null;
  let onPids: ((pids: number[]) => void) | null = null;
  child.on('message', (m: { type: string; heapUsed?: number; external?: number; pids?: number[] }) => {
    if (m.type === 'collected') onCollected?.({ heapUsed: m.heapUsed!, external: m.external! });
    if (m.type === 'dbPids') onPids?.(m.pids!);
  });
  const ready = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    child.on(
      'message',
      (m: { type: string; url?: string; token?: string; chunkId?: string; at?: number }) => {
        if (m.type === 'ready') resolve({ url: m.url!, token: m.token! });
        if (m.type === 'chunkStarted') chunkStarts.set(m.chunkId!, m.at!);
      },
    );
    child.once('exit', (code) => reject(new Error(`listener server exited with ${code}`)));
  });
  return {
    child,
    ...ready,
    chunkStarts,
    collect: async () => {
      const m = await new Promise<{ heapUsed: number; external: number }>((resolve) => {
        onCollected = resolve;
        child.send({ type: 'collect' });
      });
      onCollected = null;
      return { rssKiB: rssKiB(child.pid!), heapKiB: m.heapUsed / 1024, externalKiB: m.external / 1024 };
    },
    dbPids: async () => {
      const pids = await new Promise<number[]>((resolve) => {
        onPids = resolve;
        child.send({ type: 'dbPids' });
      });
      onPids = null;
      return pids;
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.send({ type: 'stop' });
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(kill);
      children.delete(child);
    },
  };
}

/** Runs `open(i)` for i < n with at most IN_FLIGHT pending; resolves with the time taken. */
async function openAll(
  n: number,
  open: (i: number) => Promise<boolean>,
  timeoutMs: number,
  inFlight: number,
) {
  const t0 = performance.now();
  let next = 0;
  let ok = 0;
  let failed = 0;
  const worker = async () => {
    while (next < n && performance.now() - t0 < timeoutMs) {
      const i = next++;
      if (await open(i)) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { ok, failed, ms: performance.now() - t0 };
}

/** A live MP3 listener: counts audio received and the longest silence on the wire. */
interface Mp3Listener {
  counter: Mp3Counter;
  connectedAt: number;
  /** Audio seconds in hand 1 s after connecting, beyond that second: what was sent at once. */
  burstSec: number;
  lastDataAt: number;
  maxGapMs: number;
  req: http.ClientRequest;
}

function openMp3(url: string, listeners: Mp3Listener[]): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve(false);
        return;
      }
      const l: Mp3Listener = {
        counter: new Mp3Counter(),
        connectedAt: performance.now(),
        burstSec: Number.NaN,
        lastDataAt: performance.now(),
        maxGapMs: 0,
        req,
      };
      listeners.push(l);
      setTimeout(() => (l.burstSec = l.counter.seconds - 1), 1000).unref();
      res.on('data', (d: Buffer) => {
        const now = performance.now();
        l.maxGapMs = Math.max(l.maxGapMs, now - l.lastDataAt);
        l.lastDataAt = now;
        l.counter.push(d);
      });
      res.on('error', () => {});
      resolve(true);
    });
    req.on('error', () => resolve(false));
  });
}

/** Real-time verdict of MP3 listeners over the run: audio received vs time connected. */
function realTime(listeners: Mp3Listener[]) {
  const now = performance.now();
  let ok = 0;
  let worst = Number.POSITIVE_INFINITY;
  let maxGap = 0;
  for (const l of listeners) {
    const elapsed = (now - l.connectedAt) / 1000;
    const behind = elapsed - l.counter.seconds; // > 0: received less audio than time passed
    worst = Math.min(worst, l.counter.seconds / elapsed);
    maxGap = Math.max(maxGap, l.maxGapMs);
    if (behind < 1 && l.maxGapMs < 2000) ok++;
  }
  return { ok, total: listeners.length, worstRatio: worst, maxGapMs: maxGap };
}

interface Row {
  n: number;
  system: string;
  connected: number;
  refused: number;
  connectS: number;
  rate: number;
  rssPerListenerKiB: number;
  /** Bardcast: JS heap added per listener, after a forced GC. */
  heapPerListenerKiB: number;
  /** Bardcast: memory outside the JS heap (buffers, the embedded database's) added per listener. */
  externalPerListenerKiB: number;
  cpuPct: number;
  fanP50: number;
  fanP99: number;
  fanLastP50: number;
  fanLastMax: number;
  live: string;
  behindSec: number;
  loader: number;
}

/** Opens 200 WebSockets and 20 live MP3s against the server, then closes them. */
async function warmUp(url: string, token: string): Promise<void> {
  const base = url.replace('http', 'ws');
  const sockets: WebSocket[] = [];
  await openAll(
    200,
    (i) =>
      new Promise<boolean>((resolve) => {
        const ws = new WebSocket(
          `${base}/ws?campaign=c1&token=${token}&client=warm${String(i).padStart(8, '0')}`,
          {
            perMessageDeflate: false,
          },
        );
        ws.once('open', () => {
          sockets.push(ws);
          resolve(true);
        });
        ws.once('error', () => resolve(false));
      }),
    30_000,
    IN_FLIGHT.bardcast,
  );
  const live: Mp3Listener[] = [];
  await openAll(20, () => openMp3(`${url}/api/campaigns/c1/audio/live?token=${token}`, live), 30_000, 20);
  await sleep(2000);
  for (const ws of sockets) ws.close();
  for (const l of live) l.req.destroy();
  await sleep(1000);
}

async function runBardcast(n: number, postgres = ''): Promise<Row> {
  const server = await startServer([
    ...(values['no-listener-rows'] ? ['--no-listener-rows'] : []),
    ...(postgres ? ['--postgres', postgres] : []),
  ]);
  const pid = server.child.pid!;
  const base = server.url.replace('http', 'ws');
  // Warm-up: 200 listeners (and 20 live MP3s) come and go first, so the reading before is of a
  // server whose code paths are compiled and whose heap has grown for them; without it the
  // difference at 1,000 was within V8's own heap resizing (±20 MB, a negative figure once).
  await warmUp(server.url, server.token);
  await sleep(1500);
  const before = await server.collect();
  const sockets: WebSocket[] = [];
  // Receive times of the first station_schedule naming each chunk as on air, per chunk.
  const seen = new Map<string, number[]>();
  const loaderCpu0 = process.cpuUsage();
  const conn = await openAll(
    n,
    (i) =>
      new Promise<boolean>((resolve) => {
        const ws = new WebSocket(
          `${base}/ws?campaign=c1&token=${server.token}&client=tab${String(i).padStart(8, '0')}`,
          {
            perMessageDeflate: false,
          },
        );
        let first = '';
        ws.on('message', (data: Buffer) => {
          const at = epochMs();
          const s = data.toString('latin1', 0, 600);
          if (!s.startsWith('{"type":"station_schedule"')) return;
          const k = s.indexOf('"chunk_id":"');
          if (k < 0) return;
          const id = s.slice(k + 12, s.indexOf('"', k + 12));
          if (id === first) return;
          first = id;
          let list = seen.get(id);
          if (!list) seen.set(id, (list = []));
          list.push(at);
        });
        ws.once('open', () => {
          sockets.push(ws);
          resolve(true);
        });
        ws.once('error', () => resolve(false));
        ws.once('unexpected-response', (_req, res) => {
          res.resume();
          resolve(false);
        });
      }),
    CONNECT_TIMEOUT_MS,
    IN_FLIGHT.bardcast,
  );
  const live: Mp3Listener[] = [];
  const liveN = Math.round(n * LIVE_SHARE);
  await openAll(
    liveN,
    () => openMp3(`${server.url}/api/campaigns/c1/audio/live?token=${server.token}`, live),
    60_000,
    IN_FLIGHT.bardcast,
  );
  await sleep(1500); // settle
  const connected = await server.collect();
  // On PostgreSQL the database's work is done by its backends: counted with the server's.
  // (A backend that starts during the window counts whole: it did all its work inside the window.)
  const dbPids = new Set(await server.dbPids());
  const serverCpu = () => cpuSeconds(pid) + [...dbPids].reduce((sum, p) => sum + (cpuSeconds(p) || 0), 0);
  const cpu0 = serverCpu();
  const w0 = epochMs();
  const t0 = performance.now();
  await sleep(WINDOW_S * 1000);
  for (const p of await server.dbPids()) dbPids.add(p);
  const cpuPct = ((serverCpu() - cpu0) / ((performance.now() - t0) / 1000)) * 100;
  await sleep(1000); // late deliveries of the window's last chunk
  const rt = realTime(live);
  const loaderCpu = process.cpuUsage(loaderCpu0);

  const all: number[] = [];
  const last: number[] = [];
  for (const [id, startedAt] of server.chunkStarts) {
    if (startedAt < w0 || startedAt > w0 + WINDOW_S * 1000) continue;
    const times = seen.get(id) ?? [];
    for (const t of times) all.push(t - startedAt);
    if (times.length === sockets.length) last.push(Math.max(...times) - startedAt);
    else last.push(Number.POSITIVE_INFINITY); // someone never got it
  }
  for (const ws of sockets) ws.terminate();
  for (const l of live) l.req.destroy();
  await server.stop();
  return {
    n,
    system: `Bardcast${postgres ? ' on PostgreSQL' : ''}${values['no-listener-rows'] ? ', no listener rows' : ''}`,
    connected: conn.ok,
    refused: conn.failed,
    connectS: conn.ms / 1000,
    rate: conn.ok / (conn.ms / 1000),
    rssPerListenerKiB: (connected.rssKiB - before.rssKiB) / Math.max(1, conn.ok),
    heapPerListenerKiB: (connected.heapKiB - before.heapKiB) / Math.max(1, conn.ok),
    externalPerListenerKiB: (connected.externalKiB - before.externalKiB) / Math.max(1, conn.ok),
    cpuPct,
    fanP50: percentile(all, 50),
    fanP99: percentile(all, 99),
    fanLastP50: percentile(last, 50),
    fanLastMax: last.length ? Math.max(...last) : Number.NaN,
    live: `${rt.ok}/${rt.total} (worst ${rt.worstRatio.toFixed(3)}×, gap ≤ ${(rt.maxGapMs / 1000).toFixed(2)} s)`,
    behindSec: percentile(
      live.map((l) => l.burstSec),
      50,
    ),
    loader:
      ((loaderCpu.user + loaderCpu.system) / 1e6 / ((performance.now() - t0) / 1000 + conn.ms / 1000)) * 100,
  };
}

async function runIcecast(n: number): Promise<Row> {
  const ice = await startIcecast({ clients: n + 100 });
  icecasts.add(ice);
  const server = await startServer(['--icecast', ice.url, '--password', ice.sourcePassword]);
  const mount = `${ice.url}/c1.mp3`;
  // Wait for the mount (the publisher connects within a second or so).
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get(mount, { agent: false }, (res) => {
        resolve(res.statusCode === 200);
        req.destroy();
      });
      req.on('error', () => resolve(false));
    });
    if (ok) break;
    await sleep(200);
  }
  await sleep(1500);
  const pid = ice.pid();
  const rssBefore = rssKiB(pid);
  const listeners: Mp3Listener[] = [];
  const loaderCpu0 = process.cpuUsage();
  const conn = await openAll(n, () => openMp3(mount, listeners), CONNECT_TIMEOUT_MS, IN_FLIGHT.icecast);
  await sleep(1500);
  const rssConnected = rssKiB(pid);
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(WINDOW_S * 1000);
  const cpuPct = ((cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100;
  const rt = realTime(listeners);
  const loaderCpu = process.cpuUsage(loaderCpu0);
  for (const l of listeners) l.req.destroy();
  await server.stop();
  await ice.dispose();
  icecasts.delete(ice);
  return {
    n,
    system: 'Icecast 2.4',
    connected: conn.ok,
    refused: conn.failed,
    connectS: conn.ms / 1000,
    rate: conn.ok / (conn.ms / 1000),
    rssPerListenerKiB: (rssConnected - rssBefore) / Math.max(1, conn.ok),
    heapPerListenerKiB: Number.NaN,
    externalPerListenerKiB: Number.NaN,
    cpuPct,
    fanP50: Number.NaN,
    fanP99: Number.NaN,
    fanLastP50: Number.NaN,
    fanLastMax: Number.NaN,
    live: `${rt.ok}/${rt.total} (worst ${rt.worstRatio.toFixed(3)}×, gap ≤ ${(rt.maxGapMs / 1000).toFixed(2)} s)`,
    behindSec: percentile(
      listeners.map((l) => l.burstSec),
      50,
    ),
    loader:
      ((loaderCpu.user + loaderCpu.system) / 1e6 / ((performance.now() - t0) / 1000 + conn.ms / 1000)) * 100,
  };
}

const f = (x: number, d = 1) =>
  Number.isFinite(x) ? x.toFixed(d) : x === Number.POSITIVE_INFINITY ? '∞' : '—';
console.log(
  `\nWeb listeners: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}; ${loadLine()} at start`,
);
const rows: Row[] = [];
const withIcecast = !values['no-icecast'] && icecastInstalled();
if (!values['no-icecast'] && !withIcecast)
  console.log('Icecast: /usr/bin/icecast2 is missing; its rows are skipped');
for (const n of SIZES) {
  rows.push(await runBardcast(n));
  console.log(`  N=${n} Bardcast done; ${loadLine()}`);
  if (withIcecast) {
    rows.push(await runIcecast(n));
    console.log(`  N=${n} Icecast done; ${loadLine()}`);
  }
  if (values.postgres && POSTGRES_SIZES.includes(n)) {
    rows.push(await runBardcast(n, String(values.postgres)));
    console.log(`  N=${n} Bardcast on PostgreSQL done; ${loadLine()}`);
  }
}
console.log(
  `\n${table(
    [
      'N',
      'system',
      'connected',
      'refused',
      'connect all (s)',
      'connects/s',
      'RSS/listener (KiB)',
      'JS heap/listener (KiB)',
      'external/listener (KiB)',
      'CPU (% of a core)',
      'fan-out p50 (ms)',
      'fan-out p99 (ms)',
      'last client p50 (ms)',
      'last client max (ms)',
      'MP3 streams in real time',
      'audio sent at once (s)',
      'load generator CPU %',
    ],
    rows.map((r) => [
      r.n,
      r.system,
      r.connected,
      r.refused,
      f(r.connectS, 2),
      f(r.rate, 0),
      f(r.rssPerListenerKiB, 2),
      f(r.heapPerListenerKiB, 2),
      f(r.externalPerListenerKiB, 2),
      f(r.cpuPct, 1),
      f(r.fanP50),
      f(r.fanP99),
      f(r.fanLastP50),
      f(r.fanLastMax),
      r.live,
      f(r.behindSec, 2),
      f(r.loader, 0),
    ]),
  )}`,
);
console.log(
  `\nWindow ${WINDOW_S} s per row; live MP3 share ${LIVE_SHARE} of N for Bardcast (Icecast: all N are MP3 listeners); ${loadLine()} at end.`,
);
cleanup();
process.exit(0);
