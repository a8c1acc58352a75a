import type pg from 'pg';
import { openDb } from '../db.js';
import { migratePg } from '../pg/migrate.js';
import { createPgPool, type PgPoolOptions, PgSql } from './pg-sql.js';
import { SqliteSql } from './sqlite-sql.js';
import type { Sql } from './sql.js';

export interface OpenedSql {
  sql: Sql;
  /** Closes the pool or the file. */
  close(): Promise<void>;
}

/** True for the URLs that choose PostgreSQL (SEALAB_DATABASE_URL, issue 17); anything else is a SQLite file. */
export const isPostgresUrl = (target: string) => /^postgres(ql)?:\/\//.test(target);

/**
 * The store's connection for either engine, migrated: a PostgreSQL pool for a postgres:// URL, else the SQLite file
 * (or ':memory:') with openDb's settings. What the composition root will call once the store is asynchronous.
 */
export async function openSql(target: string, opts: PgPoolOptions = {}): Promise<OpenedSql> {
  if (isPostgresUrl(target)) {
    const pool: pg.Pool = createPgPool(target, opts);
    const sql = new PgSql(pool);
    try {
      await migratePg(sql);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return { sql, close: () => pool.end() };
  }
  const db = openDb(target);
  return { sql: new SqliteSql(db), close: async () => void db.close() };
}
