/**
 * Progress of one narration, as the bot and the web show it ("writing…",
 * "speaking 2/6", "on air"): a small state holder that remembers the latest
 * report, so a listener that subscribes late still learns where things are.
 */
import type { NarrationPhase, NarrationProgress } from './service';

const FINAL: ReadonlySet<NarrationPhase> = new Set(['done', 'failed', 'cancelled']);

/** The progress of one narration; the pipeline writes it, the handle reads it. */
export class NarrationProgressTracker {
  #current: NarrationProgress;
  readonly #listeners = new Set<(p: NarrationProgress) => void>();
  #resolveDone!: (p: NarrationProgress) => void;
  /** Settles with the final report (never rejects). */
  readonly done: Promise<NarrationProgress>;

  constructor(phase: NarrationPhase, sentencesTotal: number | null) {
    this.#current = { requestId: '', phase, sentencesDone: 0, sentencesTotal };
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  get current(): NarrationProgress {
    return { ...this.#current };
  }

  get finished(): boolean {
    return FINAL.has(this.#current.phase);
  }

  /** Sets the request id once the request exists (reports before that carry ''). */
  setRequestId(requestId: string): void {
    this.#current = { ...this.#current, requestId };
  }

  /**
   * Subscribes; `listener` is called at once with the latest report, then on
   * every change. Returns an unsubscribe function.
   */
  subscribe(listener: (p: NarrationProgress) => void): () => void {
    this.#listeners.add(listener);
    this.#call(listener, this.current);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Records a change; ignored once a final phase was reached. */
  update(patch: Partial<Omit<NarrationProgress, 'requestId'>>): void {
    if (this.finished) return;
    this.#current = { ...this.#current, ...patch };
    const report = this.current;
    for (const listener of [...this.#listeners]) this.#call(listener, report);
    if (this.finished) {
      this.#listeners.clear();
      this.#resolveDone(report);
    }
  }

  // A listener that throws (a failed Discord edit) must not break generation.
  #call(listener: (p: NarrationProgress) => void, report: NarrationProgress): void {
    try {
      listener(report);
    } catch {
      /* the listener's own problem */
    }
  }
}
