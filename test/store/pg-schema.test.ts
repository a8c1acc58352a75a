import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/store/db.js';
import { migratePg } from '../../src/store/pg/migrate.js';
import { createPgPool, PgSql } from '../../src/store/sql/pg-sql.js';
import { pgCluster, pgDatabase } from '../helpers/postgres.js';

/**
 * PostgreSQL's schema is SQLite's, translated (src/store/pg/migrations.ts): same tables, same columns in the same
 * order with the translated types and nullability, same primary keys, same named indexes. A SQLite migration
 * without its PostgreSQL twin fails here.
 */
const cluster = pgCluster();
const TYPES: Record<string, string> = { TEXT: 'text', INTEGER: 'bigint', REAL: 'double precision' };
/** Tables only one engine has, and why. */
const PG_ONLY: string[] = [];
const SQLITE_ONLY = ['sqlite_sequence']; // SQLite's AUTOINCREMENT bookkeeping; PostgreSQL has identity sequences

interface Column {
  name: string;
  type: string;
  notNull: boolean;
}
interface Table {
  columns: Column[];
  pk: string[];
  indexes: string[];
}

function sqliteSchema(): Map<string, Table> {
  const db = new Database(':memory:');
  migrate(db);
  const out = new Map<string, Table>();
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_migrations' ORDER BY name").all() as { name: string }[];
  for (const { name } of tables) {
    if (SQLITE_ONLY.includes(name)) continue;
    const info = db.prepare(`PRAGMA table_info(${name})`).all() as { name: string; type: string; notnull: number; pk: number }[];
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name").all(name) as {
      name: string;
    }[];
    out.set(name, {
      // A primary key column is NOT NULL in PostgreSQL; SQLite's legacy rule lets a non-integer one hold NULL.
      columns: info.map((c) => ({ name: c.name, type: TYPES[c.type] ?? c.type, notNull: c.notnull === 1 || c.pk > 0 })),
      pk: info
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name),
      indexes: indexes.map((i) => i.name),
    });
  }
  db.close();
  return out;
}

async function pgSchema(sql: PgSql): Promise<Map<string, Table>> {
  const out = new Map<string, Table>();
  const cols = await sql.all<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(
    `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' ORDER BY table_name, ordinal_position`,
  );
  for (const c of cols) {
    if (PG_ONLY.includes(c.table_name)) continue;
    const t = out.get(c.table_name) ?? { columns: [], pk: [], indexes: [] };
    t.columns.push({ name: c.column_name, type: c.data_type, notNull: c.is_nullable === 'NO' });
    out.set(c.table_name, t);
  }
  const pks = await sql.all<{ table_name: string; column_name: string }>(
    `SELECT k.table_name, k.column_name FROM information_schema.table_constraints c
     JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name AND k.table_schema = c.table_schema
     WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema() ORDER BY k.table_name, k.ordinal_position`,
  );
  for (const k of pks) out.get(k.table_name)?.pk.push(k.column_name);
  // Named indexes only: those behind primary keys and UNIQUE constraints are SQLite's autoindexes.
  const idx = await sql.all<{ tablename: string; indexname: string }>(
    `SELECT t.relname AS tablename, i.relname AS indexname FROM pg_index x
     JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
     WHERE t.relnamespace = current_schema()::regnamespace AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
     ORDER BY i.relname`,
  );
  for (const i of idx) out.get(i.tablename)?.indexes.push(i.indexname);
  return out;
}

describe.skipIf(cluster.skip)(`PostgreSQL's schema against SQLite's${cluster.skip ? ` (skipped: ${cluster.skip})` : ''}`, () => {
  let sql: PgSql;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const database = await pgDatabase(cluster.url());
    drop = database.drop;
    sql = new PgSql(createPgPool(database.url, { max: 2 }));
    await migratePg(sql);
  });
  afterAll(async () => {
    await sql?.pool.end();
    await drop?.();
  });

  it('has the same tables, columns, types, nullability, primary keys and indexes', async () => {
    const want = sqliteSchema();
    const got = await pgSchema(sql);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [name, table] of want) expect({ name, ...got.get(name) }).toEqual({ name, ...table });
  });

  it('sorts and compares text byte by byte, as SQLite does, whatever the database locale', async () => {
    const rows = await sql.all<{ collation_name: string | null }>(
      "SELECT DISTINCT collation_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' AND data_type = 'text'",
    );
    expect(rows).toEqual([{ collation_name: 'C' }]);
  });
});
