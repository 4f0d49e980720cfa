import type { ManualClock } from '../../support/manual-clock';

/** Lets promise continuations and I/O callbacks run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Moves the manual clock forward in steps, letting async code run between
 * steps, so a chain "timer → await → new timer" advances as it would in real time.
 */
export async function advance(clock: ManualClock, ms: number, step = 100): Promise<void> {
  const end = clock.now() + ms;
  while (clock.now() < end) {
    clock.advanceTo(Math.min(end, clock.now() + step));
    await settle();
  }
}
