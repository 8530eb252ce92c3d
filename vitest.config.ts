import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // 2 noisy cores: media tests are CPU-heavy, so keep file parallelism modest.
    maxWorkers: 2,
  },
});
