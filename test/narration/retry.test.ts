import { APIConnectionError, APIConnectionTimeoutError, APIUserAbortError, APIError } from 'openai';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  backoffDelay,
  isTransientError,
  retryAfterMs,
  RetryExhaustedError,
  sleep,
  withRetry,
  type RetryInfo,
} from '../../src/narration/retry';

const httpError = (status: number, headers: Record<string, string> = {}) =>
  APIError.generate(status, { message: `status ${status}` }, undefined, new Headers(headers));
const codeError = (code: string) => Object.assign(new Error(code), { code });

describe('isTransientError', () => {
  it.each([
    ['429', httpError(429), true],
    ['500', httpError(500), true],
    ['503', httpError(503), true],
    ['408', httpError(408), true],
    ['400', httpError(400), false],
    ['401', httpError(401), false],
    ['404', httpError(404), false],
    ['connection error', new APIConnectionError({ message: 'socket hang up' }), true],
    ['SDK timeout', new APIConnectionTimeoutError(), true],
    ['ECONNRESET', codeError('ECONNRESET'), true],
    ['wrapped ECONNRESET', new Error('fetch failed', { cause: codeError('ECONNRESET') }), true],
    ['ENOENT', codeError('ENOENT'), false],
    ['AbortSignal.timeout', new DOMException('timed out', 'TimeoutError'), true],
    ['user abort', new APIUserAbortError(), false],
    ['AbortError', new DOMException('aborted', 'AbortError'), false],
    ['transient flag', Object.assign(new Error('worker crashed'), { transient: true }), true],
    ['plain error', new Error('bad'), false],
    ['string', 'nope', false],
  ])('%s → %s', (_name, error, expected) => {
    expect(isTransientError(error)).toBe(expected);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with jitter below the ceiling', () => {
    const opts = { baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.5 };
    expect([1, 2, 3, 4, 5].map((r) => backoffDelay(r, { ...opts, random: () => 0 }))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    expect(backoffDelay(3, { ...opts, random: () => 0.999999 })).toBe(200);
    expect(backoffDelay(1, { ...opts, jitter: 0, random: () => 0.7 })).toBe(100);
  });

  it('reads Retry-After in seconds, milliseconds or as a date', () => {
    expect(retryAfterMs(httpError(429, { 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(httpError(429, { 'retry-after-ms': '150' }))).toBe(150);
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(retryAfterMs(httpError(429, { 'retry-after': 'Tue, 01 Jan 2030 00:00:03 GMT' }), now)).toBe(3000);
    expect(retryAfterMs(new Error('x'))).toBeUndefined();
  });
});

describe('withRetry (fake time)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries transient errors with backoff and then succeeds', async () => {
    const retries: RetryInfo[] = [];
    const fn = vi
      .fn<(attempt: number) => Promise<string>>()
      .mockRejectedValueOnce(httpError(429))
      .mockRejectedValueOnce(httpError(502))
      .mockResolvedValue('ok');
    const result = withRetry(fn, { baseDelayMs: 100, random: () => 0, onRetry: (i) => retries.push(i) });
    await vi.advanceTimersByTimeAsync(99);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(200);
    await expect(result).resolves.toBe('ok');
    expect(fn.mock.calls.map((c) => c[0])).toEqual([1, 2, 3]);
    expect(retries.map((r) => r.delayMs)).toEqual([100, 200]);
  });

  it('honours Retry-After up to maxDelayMs', async () => {
    const delays: number[] = [];
    const fn = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(httpError(429, { 'retry-after': '1' }))
      .mockRejectedValueOnce(httpError(429, { 'retry-after': '60' }))
      .mockResolvedValue('ok');
    const result = withRetry(fn, {
      baseDelayMs: 10,
      maxDelayMs: 5000,
      random: () => 0,
      onRetry: (i) => delays.push(i.delayMs),
    });
    await vi.advanceTimersByTimeAsync(6000);
    await expect(result).resolves.toBe('ok');
    expect(delays).toEqual([1000, 5000]);
  });

  it('gives up after the last retry with the last error as cause', async () => {
    const fn = vi.fn<() => Promise<never>>().mockRejectedValue(httpError(500));
    const result = withRetry(fn, { retries: 2, baseDelayMs: 10 });
    const settled = expect(result).rejects.toBeInstanceOf(RetryExhaustedError);
    await vi.advanceTimersByTimeAsync(1000);
    await settled;
    expect(fn).toHaveBeenCalledTimes(3);
    const error = (await result.catch((e: unknown) => e)) as RetryExhaustedError;
    expect(error.attempts).toBe(3);
    expect(error.message).toMatch(/gave up after 3 attempts: 500/);
  });

  it('rethrows non-transient errors at once', async () => {
    const bad = httpError(400);
    const fn = vi.fn<() => Promise<never>>().mockRejectedValue(bad);
    await expect(withRetry(fn)).rejects.toBe(bad);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('stops waiting and attempting when aborted', async () => {
    const controller = new AbortController();
    const fn = vi.fn<() => Promise<never>>().mockRejectedValue(httpError(503));
    const result = withRetry(fn, { baseDelayMs: 1000, random: () => 0, signal: controller.signal });
    const settled = expect(result).rejects.toMatchObject({ name: 'AbortError' });
    await vi.advanceTimersByTimeAsync(500);
    controller.abort();
    await settled;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not start when already aborted', async () => {
    const fn = vi.fn(async () => 'x');
    await expect(withRetry(fn, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(fn).not.toHaveBeenCalled();
  });
});

describe('sleep with an injected clock', () => {
  it('uses the clock it is given', async () => {
    const pending: Array<{ fn: () => void; ms: number }> = [];
    const clock = {
      now: () => 0,
      setTimeout: (fn: () => void, ms: number) => {
        const t = { fn, ms };
        pending.push(t);
        return t;
      },
      clearTimeout: () => {},
    };
    let done = false;
    const p = sleep(1234, { clock }).then(() => (done = true));
    expect(pending.map((t) => t.ms)).toEqual([1234]);
    expect(done).toBe(false);
    pending[0]?.fn();
    await p;
    expect(done).toBe(true);
  });
});
