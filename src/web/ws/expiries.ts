import type { Clock, TimerHandle } from '../../clock';

/** Longest delay Node's timers take (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `onExpire(item)` once each item's time has come, on one timer for
 * all items instead of one per WebSocket (a timer and its list cost a few
 * hundred bytes a listener at 5,000 listeners). Items are grouped by expiry
 * time: the tabs of one link share its token's time, so there are few groups.
 * Times past what one Node timer holds (24.8 days) are reached in steps.
 */
export class Expiries<T> {
  readonly #clock: Clock;
  readonly #onExpire: (item: T) => void;
  readonly #byTime = new Map<number, Set<T>>();
  #timer: TimerHandle | null = null;
  /** The time {@link #timer} is set for (Infinity when none). */
  #armedFor = Number.POSITIVE_INFINITY;

  constructor(clock: Clock, onExpire: (item: T) => void) {
    this.#clock = clock;
    this.#onExpire = onExpire;
  }

  /** Items waiting. */
  get size(): number {
    let n = 0;
    for (const items of this.#byTime.values()) n += items.size;
    return n;
  }

  /** Expires `item` at `atMs` (clock time); at once when that has passed. */
  add(item: T, atMs: number): void {
    if (atMs <= this.#clock.now()) {
      this.#onExpire(item);
      return;
    }
    let items = this.#byTime.get(atMs);
    if (!items) this.#byTime.set(atMs, (items = new Set()));
    items.add(item);
    if (atMs < this.#armedFor) this.#arm(atMs);
  }

  /** Forgets `item` (it closed first). */
  delete(item: T, atMs: number): void {
    const items = this.#byTime.get(atMs);
    if (!items?.delete(item) || items.size > 0) return;
    this.#byTime.delete(atMs);
    if (this.#byTime.size === 0) this.#disarm();
  }

  /** Stops the timer; nothing expires any more. */
  clear(): void {
    this.#byTime.clear();
    this.#disarm();
  }

  #disarm(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }

  #arm(atMs: number): void {
    this.#disarm();
    this.#armedFor = atMs;
    const delay = Math.min(Math.max(0, atMs - this.#clock.now()), MAX_TIMER_MS);
    this.#timer = this.#clock.setTimeout(() => this.#fire(), delay);
  }

  #fire(): void {
    this.#timer = null;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    let next = Number.POSITIVE_INFINITY;
    const due: T[] = [];
    for (const [atMs, items] of this.#byTime) {
      if (atMs <= now) {
        due.push(...items);
        this.#byTime.delete(atMs);
      } else if (atMs < next) next = atMs;
    }
    if (next < Number.POSITIVE_INFINITY) this.#arm(next);
    for (const item of due) this.#onExpire(item);
  }
}
