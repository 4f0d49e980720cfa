/**
 * Start-up against a database server that is not there yet (a host booting,
 * a container starting after Bardcast, a restart during maintenance): wait
 * for it with backoff and say so once, instead of exiting on ECONNREFUSED.
 * Errors that waiting can't fix (bad password, unknown database, a broken
 * migration) still fail at once.
 */
import type { Clock } from '../clock';
import type { Logger } from '../log';

/** Node socket errors that mean "nobody answers at that address right now". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EAI_AGAIN',
  'EPIPE',
  // PostgreSQL: the server is starting up / shutting down / in recovery; too many connections.
  '57P03',
  '57P01',
  '53300',
]);

/** Messages of pg's own connection failures, which carry no code. */
const UNREACHABLE_MESSAGES = [
  /Connection terminated unexpectedly/i,
  /timeout exceeded when trying to connect/i,
  /Connection terminated due to connection timeout/i,
];

/** True when `err` (or one it wraps) means the database server can't be reached yet. */
export function isUnreachable(err: unknown, depth = 0): boolean {
  if (depth > 5 || typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return true;
  if (typeof e.message === 'string' && UNREACHABLE_MESSAGES.some((re) => re.test(e.message as string)))
    return true;
  // `localhost` resolving to ::1 and 127.0.0.1 fails as an AggregateError of both attempts.
  if (Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every((x) => isUnreachable(x, depth + 1)))
    return true;
  return isUnreachable(e.cause, depth + 1);
}

/** Options of {@link waitForDatabase}. */
export interface WaitForDatabaseOptions {
  log: Logger;
  clock: Clock;
  /** Delay before the first retry (default 500 ms); doubles each time. */
  initialDelayMs?: number;
  /** Longest delay between attempts (default 15 s). */
  maxDelayMs?: number;
  /** Stops waiting (shutdown); the promise rejects with the last error. */
  signal?: AbortSignal;
}

/**
 * Calls `open` until it succeeds. While it fails because the server is
 * unreachable, waits with exponential backoff on `clock`, logging once when
 * the wait starts and once when the database answers. Any other error is
 * thrown at once.
 */
export async function waitForDatabase<T>(
  open: () => Promise<T>,
  options: WaitForDatabaseOptions,
): Promise<T> {
  const { log, clock, signal } = options;
  const maxDelay = options.maxDelayMs ?? 15_000;
  let delay = options.initialDelayMs ?? 500;
  let waitingSince: number | null = null;
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      const opened = await open();
      if (waitingSince !== null) {
        log.info({ waitedMs: clock.now() - waitingSince, attempts }, 'database reachable: starting');
      }
      return opened;
    } catch (err) {
      if (!isUnreachable(err) || signal?.aborted) throw err;
      if (waitingSince === null) {
        waitingSince = clock.now();
        log.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'database unreachable at start-up: waiting for it (retrying with backoff)',
        );
      }
      await sleep(clock, delay, signal);
      if (signal?.aborted) throw err;
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}

function sleep(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(done, ms);
    // The clock's timers don't keep the process alive, and nothing else does yet at start-up.
    const hold = setInterval(() => {}, 60_000);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearInterval(hold);
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
