import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { readRevision } from '../pg/revision.js';
import { openSql } from './open-sql.js';

/**
 * What a server needs on PostgreSQL and does not have yet (ADR 0020, conversion parts 2 and 3). The configuration side
 * (writes, reads, catalog apply, content sync, start-up chores) runs on either engine; these do not, and a server
 * half on PostgreSQL and half on a local SQLite file would serve and count from a store its replicas do not share.
 */
export const MISSING_ON_POSTGRES = [
  'the event side wired into the composition root (ingest, served exposures, the fold and get_metrics run on PostgreSQL through pgEventSide and EventReads, but no root builds them yet)',
  'serving from PostgreSQL in the composition root (replicaServing: the embedded systems read by serving, the revision watcher, readiness; /healthz and the embedded systems outside a saga still use the SQLite connection)',
] as const;

/**
 * SEALAB_DATABASE_URL given: opens the database and applies its migrations (so a wrong URL, an unreachable server or
 * a failed migration says so), then refuses to start with a typed error naming what is still missing. No half-way
 * switch: nothing is served from a mix of engines.
 */
export async function refusePostgres(url: string, logger: Logger): Promise<never> {
  const opened = await openSql(url);
  let revision: number;
  try {
    revision = await readRevision(opened.sql);
  } finally {
    await opened.close();
  }
  logger.info({ revision }, 'PostgreSQL reached and migrated (SEALAB_DATABASE_URL)');
  throw new AppError(
    'PRECONDITION_FAILED',
    `SEALAB_DATABASE_URL: the database is reachable and migrated, but sealab cannot run on PostgreSQL yet; still missing there: ${MISSING_ON_POSTGRES.join('; ')}`,
    'Unset SEALAB_DATABASE_URL to run on the SQLite file in the data directory (the default); docs/adr/0020-postgresql-engine.md tracks the conversion.',
    { missing: [...MISSING_ON_POSTGRES] },
  );
}
