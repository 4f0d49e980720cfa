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
  /**
   * Values never to appear in a log line (Discord token, API keys, token
   * secret): every occurrence is replaced, whatever field or message it is in.
   * More can be added later with {@link redactSecret}.
   */
  secrets?: readonly (string | null | undefined)[];
}

/** What a secret is replaced with. */
export const REDACTED = '[redacted]';

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
  ],
  censor: REDACTED,
};

/** Shorter values are not scrubbed by value (they would clobber ordinary words). */
const MIN_SECRET_LENGTH = 8;

/**
 * Listener/DM tokens (src/auth/tokens.ts): `base64url(JSON)` always starts
 * with `eyJjIjoi` (`{"c":"`), then `.` and the MAC.
 */
const SIGNED_TOKEN_RE = /eyJjIjoi[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+/g;
/** `?token=…` / `&token=…` in any URL, and `Bearer …` credentials. */
const TOKEN_PARAM_RE = /([?&](?:amp;)?token=)[^&\s"'\\<>]+/gi;
const BEARER_RE = /(Bearer\s+)[^\s"'\\]+/gi;

/** Secrets known to every logger of this process (tokens are matched by shape instead). */
const secrets = new Set<string>();

/** Adds a value that must never be logged (e.g. a token secret read from the data dir). */
export function redactSecret(value: string | null | undefined): void {
  if (value && value.length >= MIN_SECRET_LENGTH) {
    secrets.add(value);
    // The JSON-escaped form is what a log line holds.
    secrets.add(JSON.stringify(value).slice(1, -1));
  }
}

/** `line` with every known secret, signed token, `token=` value and bearer credential replaced. */
export function scrubSecrets(line: string): string {
  let out = line;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out
    .replace(SIGNED_TOKEN_RE, REDACTED)
    .replace(TOKEN_PARAM_RE, `$1${REDACTED}`)
    .replace(BEARER_RE, `$1${REDACTED}`);
}

/** A URL with its `token` query parameter replaced: for logging links. */
export function redactTokenParam(url: string): string {
  return url.replace(TOKEN_PARAM_RE, `$1${REDACTED}`);
}

/**
 * Creates the root structured logger; children carry a `module` field.
 * Secrets are removed twice over: known fields by pino's `redact` paths, and
 * every serialised line by {@link scrubSecrets} (error messages, URLs, and
 * fields nobody thought of).
 */
export function createLogger(options: LogOptions = {}): Logger {
  for (const secret of options.secrets ?? []) redactSecret(secret);
  const opts: LoggerOptions = {
    level: options.level ?? 'info',
    redact: REDACT,
    hooks: { streamWrite: scrubSecrets },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** A logger that drops everything (tests that do not inspect logs). */
export const silentLogger: Logger = pino({ level: 'silent' });
