import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock';
import { RateLimiter } from '../../src/narration/rate-limit';

/** Only `now` matters to the limiter; tests move it by hand. */
function manualNow(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    setTimeout: () => ({}),
    clearTimeout: () => {},
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('RateLimiter', () => {
  it('allows a burst up to capacity, then says when to retry', () => {
    const clock = manualNow();
    const limiter = new RateLimiter({ capacity: 3, refillPerMinute: 6, clock });
    expect(limiter.tryTake('dm')).toEqual({ ok: true, remaining: 2 });
    expect(limiter.tryTake('dm')).toEqual({ ok: true, remaining: 1 });
    expect(limiter.tryTake('dm')).toEqual({ ok: true, remaining: 0 });
    expect(limiter.tryTake('dm')).toEqual({ ok: false, retryAfterMs: 10_000 });
    clock.advance(4_000);
    expect(limiter.tryTake('dm')).toEqual({ ok: false, retryAfterMs: 6_000 });
    clock.advance(6_000);
    expect(limiter.tryTake('dm')).toEqual({ ok: true, remaining: 0 });
  });

  it('keeps keys apart', () => {
    const clock = manualNow();
    const limiter = new RateLimiter({ capacity: 1, clock });
    expect(limiter.tryTake('a').ok).toBe(true);
    expect(limiter.tryTake('a').ok).toBe(false);
    expect(limiter.tryTake('b').ok).toBe(true);
  });

  it('refills continuously but never above capacity', () => {
    const clock = manualNow();
    const limiter = new RateLimiter({ capacity: 2, refillPerMinute: 60, clock });
    limiter.tryTake('k');
    limiter.tryTake('k');
    clock.advance(60 * 60_000);
    expect(limiter.tryTake('k')).toEqual({ ok: true, remaining: 1 });
    expect(limiter.tryTake('k')).toEqual({ ok: true, remaining: 0 });
    expect(limiter.tryTake('k')).toEqual({ ok: false, retryAfterMs: 1_000 });
  });

  it('refunds and resets', () => {
    const clock = manualNow();
    const limiter = new RateLimiter({ capacity: 1, clock });
    limiter.tryTake('k');
    limiter.refund('k');
    expect(limiter.tryTake('k').ok).toBe(true);
    limiter.reset('k');
    expect(limiter.tryTake('k').ok).toBe(true);
  });

  it('never allows a cost above capacity, or anything with no refill', () => {
    const limiter = new RateLimiter({ capacity: 2, refillPerMinute: 0, clock: manualNow() });
    expect(limiter.tryTake('k', 3)).toEqual({ ok: false, retryAfterMs: Number.POSITIVE_INFINITY });
    limiter.tryTake('k', 2);
    expect(limiter.tryTake('k')).toEqual({ ok: false, retryAfterMs: Number.POSITIVE_INFINITY });
  });

  it('sweeps idle full buckets when many keys pile up', () => {
    const clock = manualNow();
    const limiter = new RateLimiter({ capacity: 1, refillPerMinute: 60, clock });
    for (let i = 0; i < 1500; i++) limiter.tryTake(`dm${i}`);
    clock.advance(2_000);
    // All earlier buckets are full again: sweeping them must not change any answer.
    expect(limiter.tryTake('dm0')).toEqual({ ok: true, remaining: 0 });
    expect(limiter.tryTake('dm0').ok).toBe(false);
  });
});
