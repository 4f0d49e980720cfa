import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Database and browser suites share one machine with 2 cores.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
