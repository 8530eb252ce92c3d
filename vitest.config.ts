import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // 2 noisy cores, and most files run real peers, Chromium or worker threads that want both: one file at
    // a time, so one file's load cannot starve another's media into a timing failure.
    fileParallelism: false,
  },
});
