import type { Sql } from '../sql/sql.js';

/**
 * Serialises event-log appends across replicas for the rest of the caller's transaction (ADR 0020). PostgreSQL
 * draws identity values when rows are inserted, not when they commit: without this, seq 102 can commit before
 * 101 and a fold that read up to 102 would move its watermark past 101 for good. Held until COMMIT or ROLLBACK;
 * a no-op on SQLite, whose single writer already commits in seq order.
 */
export async function lockEventLogAppends(tx: Sql): Promise<void> {
  if (tx.dialect !== 'postgres') return;
  await tx.get("SELECT pg_advisory_xact_lock(hashtext('sealab:event_log'))::text AS locked");
}
