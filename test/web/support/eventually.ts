/** Retries `check` (which throws or returns false while not yet true) until it passes or `timeoutMs` runs out. */
export async function eventually<T>(
  check: () => Promise<T> | T,
  timeoutMs = 3_000,
): Promise<Exclude<T, false>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value !== false) return value as Exclude<T, false>;
      if (Date.now() > deadline) throw new Error('condition still false');
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
