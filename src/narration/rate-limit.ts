/**
 * Per-key token buckets (one key per DM) so nobody can queue narrations, and
 * spend LLM/TTS money, faster than a table can listen. Time comes from an
 * injected {@link Clock}.
 */
import { systemClock, type Clock } from '../clock';

/** Options for {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Burst size: takes allowed at once from a full bucket (default 5). */
  capacity?: number;
  /** Sustained rate: tokens added per minute (default 6, one every 10 s). */
  refillPerMinute?: number;
  clock?: Clock;
}

/** Result of {@link RateLimiter.tryTake}. */
export type RateLimitResult = { ok: true; remaining: number } | { ok: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Buckets with more keys than this get swept of full (idle) buckets. */
const SWEEP_THRESHOLD = 1000;

/** A token-bucket limiter keyed by any string (e.g. `${guildId}:${userId}`). */
export class RateLimiter {
  readonly capacity: number;
  readonly #perMs: number;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimiterOptions = {}) {
    this.capacity = Math.max(1, options.capacity ?? 5);
    this.#perMs = Math.max(0, options.refillPerMinute ?? 6) / 60_000;
    this.#clock = options.clock ?? systemClock;
  }

  /** Takes `cost` tokens for `key` if it has them; otherwise says how long until it will. */
  tryTake(key: string, cost = 1): RateLimitResult {
    const now = this.#clock.now();
    if (this.#buckets.size > SWEEP_THRESHOLD) this.#sweep(now);
    const bucket = this.#refill(key, now);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return { ok: true, remaining: Math.floor(bucket.tokens) };
    }
    if (cost > this.capacity || this.#perMs === 0)
      return { ok: false, retryAfterMs: Number.POSITIVE_INFINITY };
    return { ok: false, retryAfterMs: Math.ceil((cost - bucket.tokens) / this.#perMs) };
  }

  /** Gives tokens back (e.g. the narration was rejected before any work was done). */
  refund(key: string, cost = 1): void {
    const bucket = this.#refill(key, this.#clock.now());
    bucket.tokens = Math.min(this.capacity, bucket.tokens + cost);
  }

  /** Forgets `key` (its bucket is full again). */
  reset(key: string): void {
    this.#buckets.delete(key);
  }

  #refill(key: string, now: number): Bucket {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.capacity, updatedAt: now };
      this.#buckets.set(key, bucket);
      return bucket;
    }
    const elapsed = Math.max(0, now - bucket.updatedAt);
    bucket.tokens = Math.min(this.capacity, bucket.tokens + elapsed * this.#perMs);
    bucket.updatedAt = now;
    return bucket;
  }

  // A full bucket is the same as no bucket; dropping those bounds memory.
  #sweep(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.updatedAt) * this.#perMs >= this.capacity) this.#buckets.delete(key);
    }
  }
}

/** Creates a {@link RateLimiter}. */
export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  return new RateLimiter(options);
}
