import type { TestProject } from 'vitest/node';
import { missingPostgres, type PgProvided, startCluster } from './helpers/postgres.js';

/**
 * Once per run: a throwaway PostgreSQL cluster (test/helpers/postgres.ts) whose admin URL test files inject as
 * `pg`; stopped and removed when the run ends, also when it fails.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  if (process.env.SEALAB_SKIP_POSTGRES === '1') {
    const skip = 'SEALAB_SKIP_POSTGRES=1: PostgreSQL tests are skipped';
    process.stderr.write(`global-setup: ${skip}\n`);
    project.provide('pg', { skip } satisfies PgProvided);
    return () => {};
  }
  const missing = missingPostgres();
  if (missing) {
    project.provide('pg', { error: missing } satisfies PgProvided);
    return () => {};
  }
  const cluster = await startCluster();
  // Vitest calls the teardown on success, failure and Ctrl-C; 'exit' covers a run that ends without it (stop is idempotent).
  const onExit = () => cluster.stop();
  process.once('exit', onExit);
  project.provide('pg', { url: cluster.url } satisfies PgProvided);
  return () => {
    process.off('exit', onExit);
    cluster.stop();
  };
}
