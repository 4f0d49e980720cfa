/**
 * The real Bardcast app (`src/main.ts`) as a child process, the way `npm start`
 * runs it: embedded PGlite under a temp DATA_DIR, offline flite TTS, the demo
 * LLM, no Discord. The console links it prints on stdout are parsed into
 * tokens and URLs. It can be stopped (SIGTERM) and started again on the same
 * port and data dir to test reconnects.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The links `npm start` prints without Discord. */
export interface ConsoleLinks {
  dmUrl: string;
  listenUrl: string;
  liveUrl: string;
}

/** Options of {@link startAppProcess}. */
export interface AppProcessOptions {
  /** Data dir to reuse (a restart); a fresh temp dir otherwise. */
  dataDir?: string;
  /** Whether `dispose` removes the data dir. Default: only when it was created here. */
  removeDataDir?: boolean;
  /** Port to listen on; a free one otherwise. */
  port?: number;
  /** Extra environment (settings of src/config.ts). */
  env?: Record<string, string>;
  /** How long start-up may take. Default 90 s (2 busy cores, tsx, PGlite, flite warm-up). */
  startTimeoutMs?: number;
}

/** A running app child. */
export interface AppProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly dataDir: string;
  readonly baseUrl: string;
  readonly links: ConsoleLinks;
  readonly campaignId: string;
  readonly dmToken: string;
  readonly playerToken: string;
  /** stdout and stderr so far (for failure messages). */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves on exit. */
  stop(graceMs?: number): Promise<void>;
  /** Stops, and removes the data dir (see {@link AppProcessOptions.removeDataDir}). */
  dispose(): Promise<void>;
}

/** A TCP port nobody listens on right now (127.0.0.1). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Settings that must not leak from the developer's shell into the child. */
const SCRUBBED = [
  'DISCORD_TOKEN',
  'DATABASE_URL',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'PUBLIC_URL',
  'TOKEN_SECRET',
  'AUDIO_DIR',
  'TTS_PROVIDER',
  'TTS_VOICE',
  'DEFAULT_CAMPAIGN',
];

function tokenOf(url: string): string {
  const token = new URL(url).searchParams.get('token');
  if (!token) throw new Error(`no token in ${url}`);
  return token;
}

/** Starts `node --import tsx src/main.ts`; resolves once it printed its console links. */
export async function startAppProcess(options: AppProcessOptions = {}): Promise<AppProcess> {
  const removeDataDir = options.removeDataDir ?? options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'bardcast-browser-')));
  const port = options.port ?? (await freePort());
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of SCRUBBED) delete env[key];
  Object.assign(env, {
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DEMO_LLM: 'true',
    TTS_PROVIDER: 'flite',
    GAP_BETWEEN_REQUESTS_MS: '300',
    NARRATIONS_PER_MINUTE: '1000',
    DEFAULT_CAMPAIGN: 'demo',
    ...options.env,
  });
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const links = await new Promise<ConsoleLinks>((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 90_000;
    const timer = setTimeout(() => {
      finish();
      child.kill('SIGKILL');
      reject(new Error(`the app did not print its links within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = () => {
      const grab = (label: string) => new RegExp(`${label}:\\s+(\\S+)`).exec(out)?.[1];
      const dmUrl = grab('DM console');
      const listenUrl = grab('Listener page');
      const liveUrl = grab('Live MP3');
      if (dmUrl && listenUrl && liveUrl) {
        finish();
        resolve({ dmUrl, listenUrl, liveUrl });
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      finish();
      reject(new Error(`the app exited (${code ?? signal}) before printing its links:\n${out}`));
    };
    const finish = () => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });

  const stop = async (graceMs = 15_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const dm = new URL(links.dmUrl);
  return {
    child,
    port,
    dataDir,
    baseUrl: `http://127.0.0.1:${port}`,
    links,
    campaignId: decodeURIComponent(dm.pathname.split('/').filter(Boolean).at(-1) ?? ''),
    dmToken: tokenOf(links.dmUrl),
    playerToken: tokenOf(links.listenUrl),
    output: () => out,
    stop,
    dispose: async () => {
      await stop();
      if (removeDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
