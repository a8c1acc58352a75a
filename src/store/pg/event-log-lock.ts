import { createHash } from 'node:crypto';
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

/**
 * Serialises first exposures of the same units across replicas for the rest of the caller's transaction (ADR 0020
 * addendum "Ingest back-pressure and first exposures on PostgreSQL"): one transaction-scoped advisory lock per
 * (experiment, unit) pair, keyed by 64 bits of its SHA-1, all taken in one statement in key order (two batches
 * sharing units take them in the same order: no deadlock). A batch that reads a unit's variant under its lock sees
 * every exposure of that unit committed before, so two replicas cannot both accept contradicting first exposures.
 * Distinct pairs whose keys collide only wait for each other. Taken before lockEventLogAppends, never after it.
 */
export async function lockUnits(tx: Sql, pairs: readonly (readonly [string, string])[]): Promise<void> {
  if (tx.dialect !== 'postgres' || !pairs.length) return;
  const keys = [...new Set(pairs.map(([e, u]) => unitLockKey(e, u)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  await tx.get('SELECT COUNT(pg_advisory_xact_lock(k))::int AS locked FROM (SELECT k FROM unnest(?::bigint[]) AS k ORDER BY k) s', [`{${keys.join(',')}}`]);
}

/** The advisory lock key of an (experiment, unit) pair: the first 8 bytes of SHA-1(experiment NUL unit), signed. */
export function unitLockKey(experimentId: string, unitId: string): bigint {
  return createHash('sha1').update(`${experimentId}\u0000${unitId}`).digest().readBigInt64BE(0);
}
