import { randomBytes } from 'node:crypto';
import { TokenSigner } from '../../../src/auth';
import { FakeOpenAiServer } from '../../../src/narration/fake-openai-server';
import { spawnApp, type SpawnedApp } from '../../support/app-process';
import type { LoopbackDiscord } from '../loopback';
import type { LoopbackGuild } from '../model';

/** Options of {@link startBotApp}. */
export interface BotAppOptions {
  /** Data dir to reuse (a restart). */
  dataDir?: string;
  /** Whether `dispose` removes the data dir. */
  removeDataDir?: boolean;
  port?: number;
  /** Extra settings. */
  env?: Record<string, string>;
}

/** The app child connected to a loopback Discord. */
export interface BotApp extends SpawnedApp<true> {
  readonly tokenSecret: string;
  /** A listener token for a guild's campaign (`g<guild id>`). */
  token(guild: LoopbackGuild, role?: 'dm' | 'player'): string;
  /** Structured log lines (pino JSON) so far. */
  logs(): { level: number; msg: string; [k: string]: unknown }[];
}

/** The campaign id the bot gives a guild (src/bot/campaign.ts). */
export function campaignOf(guild: LoopbackGuild): string {
  return `g${guild.id}`;
}

/** Settings the loopback tests share; a test overrides what it studies. */
export const LOOPBACK_APP_ENV = {
  LOG_LEVEL: 'info',
  TTS_PROVIDER: 'openai',
  GAP_BETWEEN_REQUESTS_MS: '400',
  NARRATIONS_PER_MINUTE: '1000',
  TTS_CONCURRENCY: '3',
} as const;

/**
 * Starts the real app (`src/main.ts`) against the loopback: `DISCORD_TOKEN`,
 * `DISCORD_API_URL`, `NODE_EXTRA_CA_CERTS` for the voice gateway's TLS, the
 * fake OpenAI server for the LLM and TTS. Resolves once the bot logged in (its
 * info log line: keep `LOG_LEVEL` at info or below).
 */
export async function startBotApp(
  loopback: LoopbackDiscord,
  openai: { url: string },
  options: BotAppOptions = {},
): Promise<BotApp> {
  const tokenSecret = options.env?.TOKEN_SECRET ?? randomBytes(24).toString('hex');
  const app = await spawnApp<true>({
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.removeDataDir === undefined ? {} : { removeDataDir: options.removeDataDir }),
    ...(options.port === undefined ? {} : { port: options.port }),
    tempPrefix: 'bardcast-loopback-',
    env: {
      ...LOOPBACK_APP_ENV,
      ...loopback.appEnv(),
      OPENAI_API_KEY: 'sk-loopback',
      OPENAI_BASE_URL: openai.url,
      TOKEN_SECRET: tokenSecret,
      ...options.env,
    },
    ready: (out) => (out.includes('"msg":"bot logged in"') ? true : undefined),
  });
  const signer = new TokenSigner(tokenSecret);
  return {
    ...app,
    tokenSecret,
    token: (guild, role = 'player') => signer.sign(campaignOf(guild), role, 3600),
    logs: () =>
      app
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as { level: number; msg: string }];
          } catch {
            return [];
          }
        }),
  };
}

/** A fake OpenAI server tuned for short, quick test narrations. */
export async function startFakeOpenAi(): Promise<{ server: FakeOpenAiServer; url: string }> {
  const server = new FakeOpenAiServer({ msPerChar: 20 });
  const { url } = await server.start();
  return { server, url };
}
