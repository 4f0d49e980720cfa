import type { PlaybackRepository, WriteOp } from '../../src/playback';

/**
 * A repository whose process "dies" on {@link crash}: from then on nothing it
 * is asked reaches the database and no call ever answers, as with SIGKILL.
 * What was written before the crash stays; a second engine opened on the same
 * database is the restarted process. In-process, so it runs on the manual
 * clock and on both backends.
 */
export class CrashableRepository {
  #dead = false;
  /** Writes that reached the database before the crash. */
  readonly applied: WriteOp[] = [];

  constructor(private readonly inner: PlaybackRepository) {}

  crash(): void {
    this.#dead = true;
  }

  /** The repository to hand to the engine that will crash. */
  get repository(): PlaybackRepository {
    const hang = new Promise<never>(() => {});
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return new Proxy(this.inner, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (self.#dead) return hang;
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (key === 'apply') {
            return (result as Promise<void>).then(() => {
              if (self.#dead) return hang;
              self.applied.push(args[0] as WriteOp);
              return undefined;
            });
          }
          return result;
        };
      },
    });
  }
}
