/**
 * The real Bardcast app (`src/main.ts`) as a child process, the way
 * `npm start` runs it, with a temp DATA_DIR (embedded PGlite) unless told
 * otherwise. Shared by the browser tests and the loopback Discord tests: the
 * caller says which settings to pass and which output means "started".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

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
  'DISCORD_API_URL',
  'DISCORD_CLIENT_ID',
  'DISCORD_GUILD_ID',
  'NODE_EXTRA_CA_CERTS',
  'DATABASE_URL',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'PUBLIC_URL',
  'TOKEN_SECRET',
  'AUDIO_DIR',
  'TTS_PROVIDER',
  'TTS_VOICE',
  'DEFAULT_CAMPAIGN',
  'SHARDS',
  'SHARD_COUNT',
];

/** Options of {@link spawnApp}. */
export interface SpawnAppOptions<T> {
  /** Data dir to reuse (a restart); a fresh temp dir otherwise. */
  dataDir?: string;
  /** Whether `dispose` removes the data dir. Default: only when it was created here. */
  removeDataDir?: boolean;
  /** Port to listen on; a free one otherwise. */
  port?: number;
  /** Settings of src/config.ts (and Node's, e.g. NODE_EXTRA_CA_CERTS); over the scrubbed parent env. */
  env: Record<string, string>;
  /** Called with all output so far on every new output; a value other than undefined means started. */
  ready: (output: string) => T | undefined;
  /** How long start-up may take. Default 90 s (2 busy cores, tsx, PGlite, flite warm-up). */
  startTimeoutMs?: number;
  /** Prefix of the temp data dir. */
  tempPrefix?: string;
}

/** A running app child. */
export interface SpawnedApp<T> {
  readonly child: ChildProcess;
  readonly port: number;
  readonly dataDir: string;
  readonly baseUrl: string;
  /** What `ready` returned. */
  readonly started: T;
  /** stdout and stderr so far (for failure messages). */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves on exit. */
  stop(graceMs?: number): Promise<void>;
  /** Stops, and removes the data dir (see {@link SpawnAppOptions.removeDataDir}). */
  dispose(): Promise<void>;
}

/** Starts `node --import tsx src/main.ts`; resolves once `ready` accepts its output. */
export async function spawnApp<T>(options: SpawnAppOptions<T>): Promise<SpawnedApp<T>> {
  const removeDataDir = options.removeDataDir ?? options.dataDir === undefined;
  const dataDir =
    options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), options.tempPrefix ?? 'bardcast-app-')));
  const port = options.port ?? (await freePort());
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of SCRUBBED) delete env[key];
  Object.assign(env, { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', ...options.env });
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const started = await new Promise<T>((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 90_000;
    const timer = setTimeout(() => {
      finish();
      child.kill('SIGKILL');
      reject(new Error(`the app did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = () => {
      const value = options.ready(out);
      if (value !== undefined) {
        finish();
        resolve(value);
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      finish();
      reject(new Error(`the app exited (${code ?? signal}) before it had started:\n${out}`));
    };
    const finish = () => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', onExit);
  });

  const stop = async (graceMs = 15_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    child,
    port,
    dataDir,
    baseUrl: `http://127.0.0.1:${port}`,
    started,
    output: () => out,
    stop,
    dispose: async () => {
      await stop();
      if (removeDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
