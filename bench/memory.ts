/**
 * Memory of `npm start`, all its processes, read from /proc: idle after the
 * first start (fresh data directory), idle after a restart, the peak during a
 * narration, idle again once the TTS workers have left, and the cost of each
 * further active campaign. `npx tsx bench/memory.ts` (`--campaigns 30`,
 * `--no-baseline`).
 *
 * Baseline, in the same run: the commit before the memory work
 * ({@link BASELINE_COMMIT}: `tsx src/main.ts`, PGlite at its defaults, three
 * flite workers kept warm), checked out in a temporary git worktree that
 * borrows this checkout's node_modules. Both run with no settings but a data
 * directory, a port, a known token secret and the offline demo LLM.
 *
 * Two totals: the plain sum of each process's RSS (what `ps` adds up; the
 * node binary's pages are counted once per node process), and "unique": each
 * process's anonymous memory plus every mapped file counted once.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TokenSigner } from '../src/auth';

/** The last commit before `npm start` was slimmed down (issue 11, deliverable 1). */
const BASELINE_COMMIT = 'ff7cbd0';
const TARGET_IDLE_MB = 250;
const TARGET_PER_CAMPAIGN_MB = 1;
const SECRET = 'bench-memory-secret-0123456789';

const { values } = parseArgs({
  options: {
    campaigns: { type: 'string', default: '30' },
    'no-baseline': { type: 'boolean', default: false },
  },
  strict: false,
});
const CAMPAIGNS = Number(values.campaigns);
const ROOT = path.resolve(import.meta.dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One process of the tree. */
interface Proc {
  pid: number;
  role: string;
  rssKb: number;
  anonKb: number;
  /** Resident pages per mapped file. */
  files: Map<string, number>;
}

/** A snapshot of the whole tree. */
interface Sample {
  procs: Proc[];
  sumMb: number;
  uniqueMb: number;
}

function children(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

function role(cmd: string): string {
  if (/npm-cli|\bnpm\b/.test(cmd) && !cmd.includes('src/main')) return 'npm (launcher)';
  if (/^(\/bin\/)?sh /.test(cmd)) return 'sh';
  if (cmd.includes('flite')) return 'flite worker';
  if (cmd.includes('esbuild')) return 'esbuild (tsx)';
  if (cmd.includes('ffmpeg')) return 'ffmpeg';
  if (cmd.includes('PGlite')) return 'initdb child';
  if (/tsx(\/dist\/cli|\s+src\/main)/.test(cmd) && !cmd.includes('--require')) return 'tsx launcher';
  if (cmd.includes('main')) return 'server (node)';
  return cmd.slice(0, 40);
}

function readProc(pid: number): Proc | null {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    const files = new Map<string, number>();
    let anonKb = 0;
    let current: string | null = null;
    for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
      if (head) {
        current = head[1] !== '0' && head[2] ? (head[2] as string) : null;
        continue;
      }
      const rss = /^Rss:\s+(\d+)/.exec(line);
      if (!rss) continue;
      if (current) files.set(current, (files.get(current) ?? 0) + Number(rss[1]));
      else anonKb += Number(rss[1]);
    }
    return { pid, role: role(cmd), rssKb: kb('VmRSS'), anonKb, files };
  } catch {
    return null; // gone meanwhile
  }
}

function sampleTree(root: number): Sample {
  const pids = [root];
  for (let i = 0; i < pids.length; i++) pids.push(...children(pids[i] as number));
  const procs = pids.map(readProc).filter((p): p is Proc => p !== null);
  const fileMax = new Map<string, number>();
  for (const p of procs) for (const [f, kb] of p.files) fileMax.set(f, Math.max(fileMax.get(f) ?? 0, kb));
  const anon = procs.reduce((n, p) => n + p.anonKb, 0);
  const fileKb = [...fileMax.values()].reduce((n, kb) => n + kb, 0);
  return {
    procs,
    sumMb: procs.reduce((n, p) => n + p.rssKb, 0) / 1024,
    uniqueMb: (anon + fileKb) / 1024,
  };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A running `npm start` in `cwd`. */
interface Started {
  child: ChildProcess;
  port: number;
  startMs: number;
  stop(): Promise<void>;
}

async function npmStart(cwd: string, dataDir: string): Promise<Started> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['DISCORD_TOKEN', 'DATABASE_URL', 'OPENAI_API_KEY', 'OPENAI_BASE_URL', 'TTS_PROVIDER'])
    delete env[k];
  Object.assign(env, {
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    TOKEN_SECRET: SECRET,
    DEMO_LLM: 'true',
    NARRATIONS_PER_MINUTE: '1000',
  });
  const t0 = Date.now();
  const child = spawn('npm', ['start', '--silent'], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (;;) {
    if (/Listener page:/.test(out)) break;
    if (child.exitCode !== null) throw new Error(`npm start exited in ${cwd}:\n${out}`);
    if (Date.now() - t0 > 180_000) throw new Error(`npm start did not come up in ${cwd}:\n${out}`);
    await sleep(100);
  }
  return {
    child,
    port,
    startMs: Date.now() - t0,
    stop: async () => {
      const group = -(child.pid as number);
      if (child.exitCode === null && child.signalCode === null) process.kill(group, 'SIGTERM');
      const timer = setTimeout(() => groupAlive(group) && process.kill(group, 'SIGKILL'), 20_000);
      await exited;
      // npm can exit before the server has finished its shutdown writes: wait for the whole group.
      for (let i = 0; i < 250 && groupAlive(group); i++) await sleep(100);
      clearTimeout(timer);
    },
  };
}

/** Is any process of the group `-pgid` still alive? */
function groupAlive(group: number): boolean {
  try {
    process.kill(group, 0);
    return true;
  } catch {
    return false;
  }
}

const signer = new TokenSigner(SECRET);
async function narrate(port: number, campaign: string, text: string, mode: 'say' | 'narrate'): Promise<void> {
  const token = signer.sign(campaign, 'dm', 3600);
  const res = await fetch(`http://127.0.0.1:${port}/api/campaigns/${campaign}/narrations?token=${token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ text, mode }),
  });
  if (res.status !== 202) throw new Error(`narration refused: ${res.status} ${await res.text()}`);
}

async function idleStation(port: number, campaign: string): Promise<boolean> {
  const token = signer.sign(campaign, 'dm', 3600);
  const res = await fetch(`http://127.0.0.1:${port}/api/campaigns/${campaign}/audio/queue?token=${token}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await res.json()) as { now_playing: unknown; pending: unknown[] };
  return body.now_playing === null && body.pending.length === 0;
}

/** Samples the tree every 250 ms until `done()`; returns the sample with the largest total. */
async function peakWhile(root: number, done: () => Promise<boolean>, limitMs = 120_000): Promise<Sample> {
  let peak = sampleTree(root);
  const t0 = Date.now();
  while (!(await done()) && Date.now() - t0 < limitMs) {
    const s = sampleTree(root);
    if (s.sumMb > peak.sumMb) peak = s;
    await sleep(250);
  }
  return peak;
}

/** Waits until no flite worker is left (ours: they leave after 15 s idle), at most `ms`. */
async function settled(root: number, ms: number): Promise<Sample> {
  const t0 = Date.now();
  await sleep(5_000);
  while (Date.now() - t0 < ms && sampleTree(root).procs.some((p) => p.role === 'flite worker'))
    await sleep(1000);
  return sampleTree(root);
}

interface Result {
  label: string;
  startMs: number;
  first: Sample;
  restart: Sample;
  narration: Sample;
  after: Sample;
  perCampaignMb: number;
}

async function measure(label: string, cwd: string): Promise<Result> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bardcast-mem-'));
  try {
    process.stderr.write(`${label}: first start\n`);
    let app = await npmStart(cwd, dataDir);
    const startMs = app.startMs;
    const first = await settled(app.child.pid as number, 15_000);
    await app.stop();
    process.stderr.write(`${label}: restart\n`);
    app = await npmStart(cwd, dataDir);
    const root = app.child.pid as number;
    const restart = await settled(root, 15_000);
    process.stderr.write(`${label}: narration\n`);
    await narrate(app.port, 'demo', 'The party descends into the old crypt.', 'narrate');
    await sleep(500);
    const narration = await peakWhile(root, () => idleStation(app.port, 'demo'));
    const after = await settled(root, 40_000);
    process.stderr.write(`${label}: ${CAMPAIGNS} more campaigns\n`);
    const names = Array.from({ length: CAMPAIGNS }, (_, i) => `mem${i}`);
    for (const name of names) await narrate(app.port, name, 'Roll for initiative.', 'say');
    await peakWhile(root, async () =>
      (await Promise.all(names.map((n) => idleStation(app.port, n)))).every(Boolean),
    );
    const campaigns = await settled(root, 40_000);
    await app.stop();
    return {
      label,
      startMs,
      first,
      restart,
      narration,
      after,
      perCampaignMb: (campaigns.sumMb - after.sumMb) / CAMPAIGNS,
    };
  } finally {
    await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
  }
}

/** The baseline commit in a temporary worktree sharing this checkout's node_modules; null when git can't. */
async function baselineCheckout(): Promise<{ dir: string; remove(): Promise<void> } | null> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bardcast-mem-base-'));
  const git = (args: string[], cwd = ROOT) => spawnSync('git', args, { cwd, encoding: 'utf8' });
  const remove = async () => {
    git(['worktree', 'remove', '--force', dir]);
    await rm(dir, { recursive: true, force: true });
  };
  if (git(['worktree', 'add', '--detach', dir, BASELINE_COMMIT]).status !== 0) {
    await rm(dir, { recursive: true, force: true });
    return null;
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const gen = spawnSync('npx', ['prisma', 'generate'], {
    cwd: dir,
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true' },
    encoding: 'utf8',
  });
  if (gen.status !== 0 || !existsSync(path.join(dir, 'web'))) {
    await remove();
    return null;
  }
  spawnSync('npx', ['vite', 'build', '--config', 'web/vite.config.ts', '--logLevel', 'silent'], { cwd: dir });
  return { dir, remove };
}

const mb = (x: number) => x.toFixed(0);

function roles(s: Sample): string {
  const by = new Map<string, { n: number; kb: number }>();
  for (const p of s.procs) {
    const e = by.get(p.role) ?? { n: 0, kb: 0 };
    e.n++;
    e.kb += p.rssKb;
    by.set(p.role, e);
  }
  return [...by]
    .sort((a, b) => b[1].kb - a[1].kb)
    .map(([r, e]) => `${r}${e.n > 1 ? ` ×${e.n}` : ''} ${mb(e.kb / 1024)}`)
    .join(', ');
}

function report(results: Result[]): void {
  const lines = [
    `Memory of \`npm start\` (RSS in MB, from /proc; the whole process tree). Target: idle ≤ ${TARGET_IDLE_MB} MB, ≤ ${TARGET_PER_CAMPAIGN_MB} MB per further active campaign.`,
    '',
    '| build | state | sum of RSS | unique (files once) | without the npm launcher | processes (RSS) |',
    '| --- | --- | ---: | ---: | ---: | --- |',
  ];
  for (const r of results) {
    for (const [state, s] of [
      ['idle, first start', r.first],
      ['idle, restart', r.restart],
      ['peak during a narration', r.narration],
      ['idle after it', r.after],
    ] as const) {
      const npm = s.procs.filter((p) => p.role === 'npm (launcher)').reduce((n, p) => n + p.rssKb, 0) / 1024;
      lines.push(
        `| ${r.label} | ${state} | ${mb(s.sumMb)} | ${mb(s.uniqueMb)} | ${mb(s.sumMb - npm)} | ${roles(s)} |`,
      );
    }
  }
  lines.push('');
  for (const r of results) {
    lines.push(
      `${r.label}: start to links ${(r.startMs / 1000).toFixed(1)} s (first start); per further active campaign ${r.perCampaignMb.toFixed(2)} MB (${CAMPAIGNS} campaigns, one narration each).`,
    );
  }
  const [base, ours] = [results.find((r) => r.label === 'baseline'), results.find((r) => r.label === 'ours')];
  if (base && ours) {
    lines.push(
      '',
      `Ratio ours / baseline, idle after a narration: ${(ours.after.sumMb / base.after.sumMb).toFixed(2)} (sum of RSS), ` +
        `${(ours.after.uniqueMb / base.after.uniqueMb).toFixed(2)} (unique); first start: ${(ours.first.sumMb / base.first.sumMb).toFixed(2)}.`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const build = spawnSync(process.execPath, ['scripts/build-server.mjs'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
  const results: Result[] = [];
  if (!values['no-baseline']) {
    const base = await baselineCheckout();
    if (!base) process.stderr.write(`baseline ${BASELINE_COMMIT} not available: skipped\n`);
    else {
      try {
        results.push(await measure('baseline', base.dir));
      } finally {
        await base.remove();
      }
    }
  }
  results.push(await measure('ours', ROOT));
  process.stdout.write(
    `load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`,
  );
  report(results);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
