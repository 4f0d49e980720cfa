/**
 * A bounded pool for the pipeline's TTS work: at most `concurrency` tasks run
 * at once, shared by every narration being generated, and a free slot goes to
 * the waiting task with the lowest rank. Ranks are `[narration order, sentence
 * number]`, so the narration that airs first, and inside it the sentence that
 * airs first, is always served first.
 */
import { abortReason } from './retry';

/** Compares two ranks lexicographically (shorter first on a tie). */
function compareRanks(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

interface Waiter {
  rank: readonly number[];
  start(): void;
}

/** Runs async tasks with bounded concurrency, lowest rank first. */
export class TaskPool {
  readonly concurrency: number;
  #running = 0;
  /** Sorted by rank; ties keep arrival order. */
  readonly #waiting: Waiter[] = [];

  constructor(concurrency: number) {
    this.concurrency = Math.max(1, Math.floor(concurrency));
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `task` once a slot is free (at once if one is). The slot is held
   * until the task's promise settles. An abort while waiting rejects with the
   * signal's reason and the task never starts.
   */
  run<T>(rank: readonly number[], task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.#running < this.concurrency) return this.#start(task);
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(waiter);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(abortReason(signal as AbortSignal));
      };
      const waiter: Waiter = {
        rank,
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          this.#start(task).then(resolve, reject);
        },
      };
      let i = this.#waiting.length;
      while (i > 0 && compareRanks(rank, (this.#waiting[i - 1] as Waiter).rank) < 0) i--;
      this.#waiting.splice(i, 0, waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #start<T>(task: () => Promise<T>): Promise<T> {
    this.#running++;
    let promise: Promise<T>;
    try {
      promise = task();
    } catch (error) {
      promise = Promise.reject(error);
    }
    return promise.finally(() => {
      this.#running--;
      const next = this.#waiting.shift();
      next?.start();
    });
  }
}
