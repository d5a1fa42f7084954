import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        // Tests that run inside the test process: pure code, the embedded mode, and the store
        // contracts (in memory, and on the shared Redis under a key prefix of their own). They
        // share nothing, so their files run in parallel.
        extends: true,
        test: { name: 'unit', include: ['tests/unit/**/*.test.ts', 'tests/contract/**/*.test.ts'] },
      },
      {
        // Tests that start surgewatch processes, brokers, Redis servers or a browser against the
        // shared broker and Redis: each uses its own topics and key prefix, but a 2-core machine
        // runs them more predictably one file at a time.
        extends: true,
        test: { name: 'integration', include: ['tests/integration/**/*.test.ts', 'tests/e2e/**/*.test.ts'], fileParallelism: false },
      },
    ],
  },
});
