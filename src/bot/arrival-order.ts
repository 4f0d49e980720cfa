/**
 * Keeps work in the order the interactions arrived, per key (a guild).
 *
 * Discord delivers `/say` and `/narrate` in the DM's order, but each one then
 * waits on different things (a defer round trip, a voice join, a campaign
 * lookup), so the narrations would be created in whatever order those waits
 * happen to end. A ticket is taken synchronously when the interaction
 * arrives; {@link ArrivalTicket.run} starts its work only after every earlier
 * ticket of the same key has run or been released (DESIGN.md rule 2).
 */
export class ArrivalOrder {
  /** Per key: settles when the newest ticket's turn is over. */
  readonly #tails = new Map<string, Promise<void>>();

  /** Takes the next place in line for `key`; call it before the first `await`. */
  reserve(key: string): ArrivalTicket {
    const before = this.#tails.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const tail = before.then(() => mine);
    this.#tails.set(key, tail);
    // Forget the key once nobody is behind this ticket (no growth per guild).
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return new ArrivalTicket(before, done);
  }

  /** Keys with tickets still outstanding (tests). */
  get size(): number {
    return this.#tails.size;
  }
}

/** One place in line; see {@link ArrivalOrder}. */
export class ArrivalTicket {
  #released = false;

  constructor(
    private readonly turn: Promise<void>,
    private readonly done: () => void,
  ) {}

  /** Runs `work` once every earlier ticket is through, then lets the next one go (also on failure). */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#released) throw new Error('this ticket was already used');
    await this.turn;
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /** Gives up the place without running anything (refused, failed before its turn). Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.done();
  }
}
