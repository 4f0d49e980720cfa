import { pino, type Logger, type LoggerOptions } from 'pino';

/** Tag for every playback state transition (kept from the seed). */
export const AUDIO_DEBUG = '[AUDIO_DEBUG]';
/** Tag for the periodic cleanup task (kept from the seed). */
export const AUDIO_CLEANUP = '[AUDIO_CLEANUP]';

export type { Logger };

/** Options for {@link createLogger}. */
export interface LogOptions {
  level?: string;
  /** Write to this destination instead of stdout (tests). */
  destination?: NodeJS.WritableStream;
}

const REDACT: { paths: string[]; censor: string } = {
  paths: [
    'token',
    '*.token',
    'apiKey',
    '*.apiKey',
    'secret',
    '*.secret',
    'authorization',
    '*.authorization',
    'req.headers.authorization',
    'config.discordToken',
    'config.openaiApiKey',
    'config.tokenSecret',
    'config.databaseUrl',
    'config.icecast.password',
    'password',
    '*.password',
  ],
  censor: '[redacted]',
};

/** Creates the root structured logger; children carry a `module` field. */
export function createLogger(options: LogOptions = {}): Logger {
  const opts: LoggerOptions = { level: options.level ?? 'info', redact: REDACT };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** A logger that drops everything (tests that do not inspect logs). */
export const silentLogger: Logger = pino({ level: 'silent' });
