import type { Clock } from '../../clock';

/** Anything with a `state.status` that announces changes with `stateChange(old, new)`. */
export interface StatefulEmitter<S extends string> {
  readonly state: { readonly status: S };
  on(event: 'stateChange', listener: (oldState: { status: S }, newState: { status: S }) => void): unknown;
  off(event: 'stateChange', listener: (oldState: { status: S }, newState: { status: S }) => void): unknown;
}

/** {@link entersState} gave up: the time ran out or a failing state came first. */
export class StateWaitError extends Error {
  constructor(
    readonly wanted: readonly string[],
    readonly reached: string,
    readonly timedOut: boolean,
  ) {
    super(
      timedOut
        ? `did not reach ${wanted.join('/')} in time (still ${reached})`
        : `reached ${reached} instead of ${wanted.join('/')}`,
    );
    this.name = 'StateWaitError';
  }
}

/**
 * Waits until `target` is in one of `statuses` (resolves at once if it is
 * already), like `@discordjs/voice`'s `entersState` but on an injected
 * {@link Clock}, so tests move time instead of sleeping. Rejects with
 * {@link StateWaitError} after `timeoutMs` or when a `failOn` status comes first.
 */
export function entersState<S extends string>(
  target: StatefulEmitter<S>,
  statuses: S | readonly S[],
  timeoutMs: number,
  clock: Clock,
  failOn: readonly S[] = [],
): Promise<void> {
  const wanted: readonly S[] = typeof statuses === 'string' ? [statuses] : statuses;
  const current = target.state.status;
  if (wanted.includes(current)) return Promise.resolve();
  if (failOn.includes(current)) return Promise.reject(new StateWaitError(wanted, current, false));
  return new Promise<void>((resolve, reject) => {
    const listener = (_old: { status: S }, next: { status: S }): void => {
      if (wanted.includes(next.status)) settle(null);
      else if (failOn.includes(next.status)) settle(new StateWaitError(wanted, next.status, false));
    };
    const timer = clock.setTimeout(
      () => settle(new StateWaitError(wanted, target.state.status, true)),
      Math.max(0, timeoutMs),
    );
    const settle = (error: StateWaitError | null): void => {
      clock.clearTimeout(timer);
      target.off('stateChange', listener);
      if (error) reject(error);
      else resolve();
    };
    target.on('stateChange', listener);
  });
}

/** Resolves after `ms` of `clock` time. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
