import path from 'node:path';
import { z } from 'zod';

/**
 * Every setting Bardcast reads, validated once at start-up. This is the only
 * module that reads `process.env`; everything else receives a {@link Config}.
 */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = z.coerce.number().int().min(0).max(65535);
const ms = (min: number) => z.coerce.number().int().min(min);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const EnvSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  PUBLIC_URL: optionalString.pipe(z.url().optional()),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  DATA_DIR: z.string().min(1).default('data'),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
      .optional(),
  ),
  AUDIO_DIR: optionalString,

  TOKEN_SECRET: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  TOKEN_TTL_HOURS: z.coerce
    .number()
    .positive()
    .default(24 * 30),

  GAP_BETWEEN_REQUESTS_MS: ms(0).default(400),
  STALL_TIMEOUT_MS: ms(1000).default(180_000),
  RETENTION_DAYS: z.coerce.number().positive().default(7),
  TRANSCRIPT_SESSION_GAP_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 30)
    .default(3),
  CLEANUP_INTERVAL_MS: ms(1000).default(60_000),
  HEARTBEAT_TIMEOUT_MS: ms(1000).default(90_000),
  MAX_WS_CONNECTIONS: z.coerce.number().int().min(1).default(10_000),
  MAX_AUDIO_STREAMS: z.coerce.number().int().min(0).default(500),
  DB_RETRY_INTERVAL_MS: ms(100).default(5_000),

  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString.pipe(z.url().optional()),
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  OPENAI_TTS_MODEL: z.string().min(1).default('gpt-4o-mini-tts'),
  LLM_SYSTEM_PROMPT: optionalString,
  TTS_PROVIDER: z.enum(['auto', 'openai', 'flite']).default('auto'),
  TTS_VOICE: optionalString,
  TTS_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(3),
  NARRATIONS_PER_MINUTE: z.coerce.number().int().min(1).default(6),
  FFMPEG_PATH: optionalString,
  DEMO_LLM: bool.default(false),

  DISCORD_TOKEN: optionalString,
  DISCORD_CLIENT_ID: optionalString,
  DISCORD_GUILD_ID: optionalString,
  DISCORD_API_URL: optionalString.pipe(
    z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional(),
  ),
  // Set by discord.js's ShardingManager in each shard process.
  SHARDS: optionalString.pipe(
    z
      .string()
      .regex(/^\d+(,\d+)*$/, 'comma-separated shard ids')
      .optional(),
  ),
  SHARD_COUNT: z.coerce.number().int().min(1).optional(),
  ICECAST_URL: optionalString.pipe(
    z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  ),
  ICECAST_SOURCE_PASSWORD: optionalString,
  ICECAST_MOUNT: z
    .string()
    .regex(/^\/[A-Za-z0-9_.{}/-]*$/, 'a path such as /{campaign}.mp3')
    .default('/{campaign}.mp3'),
  ICECAST_CAMPAIGNS: z
    .string()
    .regex(
      /^\s*(\*|[A-Za-z0-9_-]{1,64}(\s*,\s*[A-Za-z0-9_-]{1,64})*)\s*$/,
      '* or comma-separated campaign ids',
    )
    .default('*'),
  DEFAULT_CAMPAIGN: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only (max 64)')
    .default('demo'),
});

/** The validated configuration handed to the composition root. */
export interface Config {
  host: string;
  port: number;
  publicUrl: string;
  logLevel: string;
  dataDir: string;
  /** PostgreSQL server URL; when absent the embedded PGlite under `pgliteDir` is used. */
  databaseUrl: string | undefined;
  pgliteDir: string;
  audioDir: string;
  tokenSecret: string | undefined;
  tokenTtlHours: number;
  gapBetweenRequestsMs: number;
  stallTimeoutMs: number;
  retentionDays: number;
  /** A pause longer than this starts a new transcript session. */
  transcriptSessionGapHours: number;
  cleanupIntervalMs: number;
  heartbeatTimeoutMs: number;
  dbRetryIntervalMs: number;
  openaiApiKey: string | undefined;
  openaiBaseUrl: string | undefined;
  openaiModel: string;
  openaiTtsModel: string;
  llmSystemPrompt: string | undefined;
  ttsProvider: 'auto' | 'openai' | 'flite';
  ttsVoice: string | undefined;
  ttsConcurrency: number;
  narrationsPerMinute: number;
  ffmpegPath: string | undefined;
  demoLlm: boolean;
  discordToken: string | undefined;
  discordClientId: string | undefined;
  discordGuildId: string | undefined;
  /**
   * Base URL of Discord's REST API (`https://discord.com/api` when unset), for
   * a Discord-compatible server; the gateway URL is then read from its
   * `GET /gateway/bot`.
   */
  discordApiUrl: string | undefined;
  defaultCampaign: string;
  /** This process's shards when run under ShardingManager; undefined for a single process. */
  shards: { ids: number[]; count: number } | undefined;
  /** Open WebSocket connections the web server accepts (more are refused with 503). */
  maxWsConnections: number;
  /** Open audio streams (per-request and live MP3 together) the web server serves. */
  maxAudioStreams: number;
  /** Where each station's live MP3 is published as an Icecast source; undefined: not published. */
  icecast: IcecastSettings | undefined;
}

/** Publishing to an Icecast server (`ICECAST_*`). */
export interface IcecastSettings {
  /** `http(s)://host:port` of the Icecast server, credentials removed. */
  url: string;
  /** Source user (Icecast's default: `source`). */
  user: string;
  /** Source password. A secret: never logged. */
  password: string;
  /** Mount path; `{campaign}` is replaced by the campaign id. */
  mount: string;
  /** The campaigns to publish, or `all` (every campaign this process serves). */
  campaigns: string[] | 'all';
}

/** Thrown when the environment is invalid; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates `env` (default `process.env`) and returns the configuration. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  const icecast = icecastSettings(e);
  if (typeof icecast === 'string') throw new ConfigError([icecast]);
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    host: e.HOST,
    port: e.PORT,
    publicUrl: (e.PUBLIC_URL ?? `http://${e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST}:${e.PORT}`).replace(
      /\/$/,
      '',
    ),
    logLevel: e.LOG_LEVEL,
    dataDir,
    databaseUrl: e.DATABASE_URL,
    pgliteDir: path.join(dataDir, 'pg'),
    audioDir: e.AUDIO_DIR ? path.resolve(e.AUDIO_DIR) : path.join(dataDir, 'audio'),
    tokenSecret: e.TOKEN_SECRET,
    tokenTtlHours: e.TOKEN_TTL_HOURS,
    gapBetweenRequestsMs: e.GAP_BETWEEN_REQUESTS_MS,
    stallTimeoutMs: e.STALL_TIMEOUT_MS,
    retentionDays: e.RETENTION_DAYS,
    transcriptSessionGapHours: e.TRANSCRIPT_SESSION_GAP_HOURS,
    cleanupIntervalMs: e.CLEANUP_INTERVAL_MS,
    heartbeatTimeoutMs: e.HEARTBEAT_TIMEOUT_MS,
    dbRetryIntervalMs: e.DB_RETRY_INTERVAL_MS,
    openaiApiKey: e.OPENAI_API_KEY,
    openaiBaseUrl: e.OPENAI_BASE_URL,
    openaiModel: e.OPENAI_MODEL,
    openaiTtsModel: e.OPENAI_TTS_MODEL,
    llmSystemPrompt: e.LLM_SYSTEM_PROMPT,
    ttsProvider: e.TTS_PROVIDER,
    ttsVoice: e.TTS_VOICE,
    ttsConcurrency: e.TTS_CONCURRENCY,
    narrationsPerMinute: e.NARRATIONS_PER_MINUTE,
    ffmpegPath: e.FFMPEG_PATH,
    demoLlm: e.DEMO_LLM,
    discordToken: e.DISCORD_TOKEN,
    discordClientId: e.DISCORD_CLIENT_ID,
    discordGuildId: e.DISCORD_GUILD_ID,
    discordApiUrl: e.DISCORD_API_URL?.replace(/\/$/, ''),
    defaultCampaign: e.DEFAULT_CAMPAIGN,
    shards:
      e.SHARDS !== undefined && e.SHARD_COUNT !== undefined
        ? { ids: e.SHARDS.split(',').map(Number), count: e.SHARD_COUNT }
        : undefined,
    maxWsConnections: e.MAX_WS_CONNECTIONS,
    maxAudioStreams: e.MAX_AUDIO_STREAMS,
    icecast,
  };
}

/** The Icecast settings, undefined when `ICECAST_URL` is unset, or the message of what is wrong. */
function icecastSettings(e: z.infer<typeof EnvSchema>): IcecastSettings | undefined | string {
  if (e.ICECAST_URL === undefined) return undefined;
  const url = new URL(e.ICECAST_URL);
  const password = e.ICECAST_SOURCE_PASSWORD ?? decodeURIComponent(url.password);
  if (password === '') {
    return 'ICECAST_SOURCE_PASSWORD: required with ICECAST_URL (or put it in the URL: http://source:PASSWORD@host:8000)';
  }
  const campaigns =
    e.ICECAST_CAMPAIGNS.trim() === '*'
      ? ('all' as const)
      : e.ICECAST_CAMPAIGNS.split(',').map((c) => c.trim());
  if (!e.ICECAST_MOUNT.includes('{campaign}') && (campaigns === 'all' || campaigns.length > 1)) {
    return 'ICECAST_MOUNT: must contain {campaign} when more than one campaign is published (ICECAST_CAMPAIGNS)';
  }
  return {
    url: `${url.protocol}//${url.host}`,
    user: decodeURIComponent(url.username) || 'source',
    password,
    mount: e.ICECAST_MOUNT,
    campaigns,
  };
}
