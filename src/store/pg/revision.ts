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
  const row = await tx.get<{ revision: number }>('UPDATE config_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision');
  if (!row) throw new Error('config_revision has no row: the PostgreSQL migrations did not run');
  await tx.get('SELECT pg_notify(?, ?)::text AS sent', [REVISION_CHANNEL, String(row.revision)]);
  return row.revision;
}

export async function readRevision(sql: Sql): Promise<number> {
  const row = await sql.get<{ revision: number }>('SELECT revision FROM config_revision WHERE id = 1');
  if (!row) throw new Error('config_revision has no row: the PostgreSQL migrations did not run');
  return row.revision;
}
