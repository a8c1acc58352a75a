import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The json report lets .ci/run print one "N passed, N failed" line.
    reporters: ['default', ['json', { outputFile: 'results/vitest.json' }]],
  },
});
