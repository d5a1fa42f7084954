import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests share one broker and one Redis; each uses its own topics and key prefix,
    // but a 2-core machine runs them more predictably one file at a time.
    fileParallelism: false,
  },
});
