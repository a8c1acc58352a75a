import { type Db, prepared } from '../db.js';
import type { Sql } from '../sql/sql.js';

/** The channel NOTIFY uses; the payload is only the new revision (readers re-read what changed). */
export const REVISION_CHANNEL = 'sealab_config_revision';

/**
 * Bumps the configuration revision inside the caller's write transaction and queues a NOTIFY of the new value,
 * which PostgreSQL delivers at commit (never for a rolled-back write). The row lock orders writers: revisions are
 * committed in increasing order, so a reader that sees revision r has every write up to r.
 *
 * On SQLite it is a no-op returning null (ADR 0020, conversion part 1): processes sharing a file already hear every
 * commit through `PRAGMA data_version` (ChangeWatcher), and a revision row there would make every config write
 * contend on one more page for nothing until a SQLite watcher keys on it. Every config write calls it on both
 * engines, so the PostgreSQL side needs no second list of writers.
 */
export async function bumpRevision(tx: Sql): Promise<number | null> {
  if (tx.dialect === 'sqlite') return null;
  // changed_at from the server's clock, as late in the transaction as the bump (migration 21): the propagation SLI.
  const row = await tx.get<{ revision: number }>(
    'UPDATE config_revision SET revision = revision + 1, changed_at = extract(epoch from clock_timestamp()) WHERE id = 1 RETURNING revision',
  );
  if (!row) throw new Error('config_revision has no row: the PostgreSQL migrations did not run');
  await tx.get('SELECT pg_notify(?, ?)::text AS sent', [REVISION_CHANNEL, String(row.revision)]);
  return row.revision;
}

export async function readRevision(sql: Sql): Promise<number> {
  const row = await sql.get<{ revision: number }>('SELECT revision FROM config_revision WHERE id = 1');
  if (!row) throw new Error('config_revision has no row: the PostgreSQL migrations did not run');
  return row.revision;
}

/** The revision and how long ago it moved, both read from the database (its own clock: no skew between machines). */
export interface RevisionStamp {
  revision: number;
  /** Seconds since the revision was bumped, measured by the database when it was read (0 when never stamped). */
  ageSeconds: number;
}

const STAMP = {
  sqlite:
    "SELECT revision, CASE WHEN changed_at = 0 THEN 0 ELSE (julianday('now') - 2440587.5) * 86400.0 - changed_at END AS age FROM config_revision WHERE id = 1",
  postgres:
    'SELECT revision, CASE WHEN changed_at = 0 THEN 0 ELSE extract(epoch from clock_timestamp())::float8 - changed_at END AS age FROM config_revision WHERE id = 1',
} as const;

/**
 * The revision with its age computed in SQL: on PostgreSQL from the server's clock on both ends (bumpRevision stamps
 * clock_timestamp()), on SQLite from this machine's clock (the trigger of migration 21). A replica adds the time it
 * took from sending this read to compiling serving, on its own monotonic clock: the propagation measured never
 * compares two machines' clocks, and overstates the truth by at most the read's one-way latency.
 */
export async function readRevisionStamp(sql: Sql): Promise<RevisionStamp> {
  const row = await sql.get<{ revision: number; age: number }>(STAMP[sql.dialect]);
  if (!row) throw new Error('config_revision has no row: the migrations did not run');
  return { revision: row.revision, ageSeconds: Math.max(0, Number(row.age)) };
}

/** readRevisionStamp on a synchronous SQLite connection (serving's synchronous recompile in a single-file process). */
export function readRevisionStampSync(db: Db): RevisionStamp {
  const row = prepared(db, STAMP.sqlite).get() as { revision: number; age: number } | undefined;
  if (!row) throw new Error('config_revision has no row: the migrations did not run');
  return { revision: row.revision, ageSeconds: Math.max(0, Number(row.age)) };
}
