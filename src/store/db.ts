import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/** better-sqlite3 compiles a statement on every prepare(); hot paths reuse one per (db, sql). */
export function prepared(db: Db, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let stmt = cache.get(sql);
  if (!stmt) cache.set(sql, (stmt = db.prepare(sql)));
  return stmt;
}

/**
 * Page cache per connection, in KiB (ADR 0021). SQLite fills a connection's cache up to this bound and keeps it,
 * in native memory V8 does not see, so every connection adds up to its bound to the process's RSS. The main
 * connection (ingest, fold, reads) gets 16 MiB: the interior pages of every b-tree and the hot leaves of the fold's
 * turn fit, and in WAL mode a cache is dropped whenever another connection commits, so a bigger one mostly
 * refills. A worker thread's connection (the exposure writer's: one small append per batch) gets 2 MiB; the fold's thread,
 * which now does the heaviest work on the database (ADR 0018, third pass), asks for the main connection's size.
 */
export const MAIN_CACHE_KIB = 16_384;
export const WORKER_CACHE_KIB = 2_048;

/** Opens (or creates) the SQLite file, WAL + foreign keys, and applies pending migrations in one transaction each. */
export function openDb(file: string, { cacheKib = isMainThread ? MAIN_CACHE_KIB : WORKER_CACHE_KIB }: { cacheKib?: number } = {}): Db {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  db.pragma(`cache_size = -${cacheKib}`);
  db.pragma('temp_store = MEMORY');
  // Checkpoint every 64 MiB of WAL, not SQLite's 4 MiB: a fold turn dirties pages spread over the per-unit state and
  // the events keyed by unit (ADR 0018); between checkpoints a page rewritten by several turns reaches the file once.
  db.pragma('wal_autocheckpoint = 16384');
  migrate(db);
  return db;
}

export function migrate(db: Db): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  // One immediate transaction: two processes opening a fresh file cannot both apply a migration.
  // Every migration not yet recorded runs, in version order, not only those above the highest applied:
  // branches number theirs ahead of time, so a file may hold 16 before 15 exists (a gap filled later).
  db.transaction(() => {
    const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
    for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version).filter((m) => !applied.has(m.version))) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    }
  }).immediate();
  return Math.max(...MIGRATIONS.map((m) => m.version));
}
