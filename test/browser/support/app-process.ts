/**
 * The real Bardcast app as a child process, the way `npm start` runs it
 * without Discord: embedded PGlite under a temp DATA_DIR, offline flite TTS,
 * the demo LLM. The console links it prints on stdout are parsed into tokens
 * and URLs. It can be stopped (SIGTERM) and started again on the same port
 * and data dir to test reconnects.
 */
import { spawnApp, type SpawnedApp } from '../../support/app-process';

export { REPO_ROOT, freePort } from '../../support/app-process';

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
export interface AppProcess extends Omit<SpawnedApp<ConsoleLinks>, 'started'> {
  readonly links: ConsoleLinks;
  readonly campaignId: string;
  readonly dmToken: string;
  readonly playerToken: string;
}

function tokenOf(url: string): string {
  const token = new URL(url).searchParams.get('token');
  if (!token) throw new Error(`no token in ${url}`);
  return token;
}

/** Starts `node --import tsx src/main.ts`; resolves once it printed its console links. */
export async function startAppProcess(options: AppProcessOptions = {}): Promise<AppProcess> {
  const app = await spawnApp<ConsoleLinks>({
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.removeDataDir === undefined ? {} : { removeDataDir: options.removeDataDir }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
    tempPrefix: 'bardcast-browser-',
    env: {
      LOG_LEVEL: 'warn',
      DEMO_LLM: 'true',
      TTS_PROVIDER: 'flite',
      GAP_BETWEEN_REQUESTS_MS: '300',
      NARRATIONS_PER_MINUTE: '1000',
      DEFAULT_CAMPAIGN: 'demo',
      ...options.env,
    },
    ready: (out) => {
      const grab = (label: string) => new RegExp(`${label}:\\s+(\\S+)`).exec(out)?.[1];
      const dmUrl = grab('DM console');
      const listenUrl = grab('Listener page');
      const liveUrl = grab('Live MP3');
      return dmUrl && listenUrl && liveUrl ? { dmUrl, listenUrl, liveUrl } : undefined;
    },
  });
  const links = app.started;
  const dm = new URL(links.dmUrl);
  return {
    child: app.child,
    port: app.port,
    dataDir: app.dataDir,
    baseUrl: app.baseUrl,
    links,
    campaignId: decodeURIComponent(dm.pathname.split('/').filter(Boolean).at(-1) ?? ''),
    dmToken: tokenOf(links.dmUrl),
    playerToken: tokenOf(links.listenUrl),
    output: app.output,
    stop: app.stop,
    dispose: app.dispose,
  };
}
