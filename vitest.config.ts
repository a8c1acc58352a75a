import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // One throwaway PostgreSQL per run for the store's second engine (issue 17); SEALAB_SKIP_POSTGRES=1 skips it.
    globalSetup: ['test/global-setup.ts'],
    // The json report lets .ci/run print one "N passed, N failed" line.
    reporters: ['default', ['json', { outputFile: 'results/vitest.json' }]],
  },
});
