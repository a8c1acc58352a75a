import type { Sql } from '../sql/sql.js';
import { PG_MIGRATIONS } from './migrations.js';

/**
 * Applies every PostgreSQL migration not yet recorded, in version order, in one transaction that first takes a
 * transaction-scoped advisory lock: replicas starting at once queue on the lock, and each after the first finds
 * everything applied. Even schema_migrations is created under the lock (two concurrent CREATE TABLE IF NOT EXISTS
 * of one table can both pass the check and one then fails on the catalog's unique index).
 */
export async function migratePg(sql: Sql): Promise<number> {
  if (sql.dialect !== 'postgres') throw new Error('migratePg needs a PostgreSQL Sql');
  return sql.tx(async (tx) => {
    await tx.get("SELECT pg_advisory_xact_lock(hashtext('sealab:migrations'))::text AS locked");
    await tx.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)');
    const applied = new Set((await tx.all<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version));
    for (const m of [...PG_MIGRATIONS].sort((a, b) => a.version - b.version).filter((m) => !applied.has(m.version))) {
      await tx.exec(m.sql);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, new Date().toISOString()]);
    }
    return Math.max(...PG_MIGRATIONS.map((m) => m.version));
  });
}
