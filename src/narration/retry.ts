/**
 * Retry with exponential backoff and jitter for transient failures of remote
 * calls (LLM, TTS). Time comes from an injected {@link Clock} so tests can
 * drive it; an AbortSignal stops both the waiting and further attempts.
 */
import { APIConnectionError, APIUserAbortError } from 'openai';
import { systemClock, type Clock } from '../clock';

/** Options for {@link withRetry}. */
export interface RetryOptions {
  /** Retries after the first attempt (default 3, so at most 4 attempts). */
  retries?: number;
  /** Delay before the first retry, before jitter (default 250 ms). */
  baseDelayMs?: number;
  /** Upper bound of any one delay, including a server's Retry-After (default 8000 ms). */
  maxDelayMs?: number;
  /** Growth per retry (default 2). */
  factor?: number;
  /**
   * Fraction of each delay that is random (default 0.5): the delay is drawn
   * from `[d × (1 − jitter), d]`, so clients that failed together retry apart.
   */
  jitter?: number;
  /** Random source in [0, 1) (tests pin it). */
  random?: () => number;
  clock?: Clock;
  signal?: AbortSignal | undefined;
  /** Which errors are worth another attempt (default {@link isTransientError}). */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** Called before each wait (logging, metrics). */
  onRetry?: (info: RetryInfo) => void;
}

/** What {@link RetryOptions.onRetry} is told. */
export interface RetryInfo {
  /** The attempt that just failed, from 1. */
  attempt: number;
  delayMs: number;
  error: unknown;
}

/** Thrown when every attempt failed with a transient error; `cause` is the last one. */
export class RetryExhaustedError extends Error {
  override readonly name = 'RetryExhaustedError';
  constructor(
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(`gave up after ${attempts} attempts: ${describeError(cause)}`, { cause });
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * Is `error` worth retrying: HTTP 408/429/5xx, a timeout, a reset or refused
 * connection (also when wrapped as `cause`), or an error flagged
 * `transient: true`. Cancellation by the caller never is.
 */
export function isTransientError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const err = e as {
      name?: unknown;
      code?: unknown;
      status?: unknown;
      statusCode?: unknown;
      transient?: unknown;
    };
    if (isAbortError(e)) return false;
    if (typeof err.transient === 'boolean') return err.transient;
    const status = typeof err.status === 'number' ? err.status : err.statusCode;
    if (typeof status === 'number') return status === 408 || status === 429 || status >= 500;
    // Covers APIConnectionTimeoutError too; the SDK's errors do not set `name`.
    if (e instanceof APIConnectionError || err.name === 'TimeoutError') return true;
    if (typeof err.code === 'string' && TRANSIENT_CODES.has(err.code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Is `error` a cancellation by the caller (AbortSignal, the OpenAI SDK's user abort)? */
export function isAbortError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  return error instanceof APIUserAbortError || (error as { name?: unknown }).name === 'AbortError';
}

/** The delay before retry number `retry` (1-based), before any Retry-After. */
export function backoffDelay(retry: number, options: RetryOptions = {}): number {
  const base = options.baseDelayMs ?? 250;
  const max = options.maxDelayMs ?? 8000;
  const factor = options.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const random = options.random ?? Math.random;
  const ceiling = Math.min(max, base * factor ** (retry - 1));
  return Math.round(ceiling * (1 - jitter * random()));
}

/** A server's Retry-After (seconds or HTTP date) on an SDK error, in ms. */
export function retryAfterMs(error: unknown, now: number = Date.now()): number | undefined {
  const headers = (error as { headers?: unknown } | null)?.headers;
  if (!headers || typeof (headers as Headers).get !== 'function') return undefined;
  const ms = (headers as Headers).get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const value = (headers as Headers).get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Runs `fn` until it succeeds, fails with a non-transient error (rethrown as
 * is), or runs out of retries ({@link RetryExhaustedError}). An abort rejects
 * with the signal's reason at once, even mid-wait.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const retries = options.retries ?? 3;
  const clock = options.clock ?? systemClock;
  const shouldRetry = options.shouldRetry ?? isTransientError;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(options.signal);
    try {
      return await fn(attempt);
    } catch (error) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      if (!shouldRetry(error, attempt)) throw error;
      if (attempt > retries) throw new RetryExhaustedError(attempt, error);
      const hinted = retryAfterMs(error, clock.now());
      const max = options.maxDelayMs ?? 8000;
      const delayMs = Math.min(max, Math.max(backoffDelay(attempt, options), hinted ?? 0));
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, { clock, signal: options.signal });
    }
  }
}

/** Waits `ms` on `clock`; rejects with the abort reason if `signal` fires first. */
export function sleep(
  ms: number,
  options: { clock?: Clock; signal?: AbortSignal | undefined } = {},
): Promise<void> {
  const clock = options.clock ?? systemClock;
  const { signal } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** The signal's reason if it is an Error, else a standard AbortError. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError');
}

/** A one-line description of any thrown value (for error messages and logs). */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const status = (error as { status?: unknown }).status;
    return typeof status === 'number' && !error.message.includes(String(status))
      ? `${status} ${error.message}`
      : error.message;
  }
  return String(error);
}
