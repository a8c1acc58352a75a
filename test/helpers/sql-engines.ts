import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { migrate, openDb } from '../../src/store/db.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { migratePg } from '../../src/store/pg/migrate.js';
import { PG_MIGRATIONS } from '../../src/store/pg/migrations.js';
import { createPgPool, PgSql } from '../../src/store/sql/pg-sql.js';
import type { Sql } from '../../src/store/sql/sql.js';
import { SqliteSql } from '../../src/store/sql/sqlite-sql.js';
import { pgCluster, pgDatabase } from './postgres.js';

/** One empty database of one engine, for a test: migrated or not, with as many clients as a case wants. */
export interface EngineDb {
  /** A client on the database; migrate() has not run unless open() was asked to. */
  sql: Sql;
  /** Where it lives: the SQLite file's path, or the PostgreSQL database's URL (a replica's own connections, LISTEN). */
  url: string;
  /** n independent clients: n pools on PostgreSQL; on SQLite the one connection n times (one writer per process, ADR 0020). */
  clients(n: number): Promise<Sql[]>;
  /** Applies the engine's migrations through a client; returns the schema version. */
  migrate(sql?: Sql): Promise<number>;
  close(): Promise<void>;
}

export interface Engine {
  name: 'sqlite' | 'postgres';
  /** Why this engine's cases do not run here (null: they do). */
  skip: string | null;
  /** The schema version its migrations reach. */
  version: number;
  open(opts?: { migrated?: boolean }): Promise<EngineDb>;
}

const sqlite: Engine = {
  name: 'sqlite',
  skip: null,
  version: Math.max(...MIGRATIONS.map((m) => m.version)),
  async open({ migrated = true } = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealab-sql-'));
    const file = path.join(dir, 'store.db');
    // openDb migrates; an unmigrated file is the same settings without it.
    const db = migrated ? openDb(file) : new Database(file);
    const sql = new SqliteSql(db);
    return {
      sql,
      url: file,
      clients: async (n) => Array.from({ length: n }, () => sql),
      migrate: async () => migrate(db),
      close: async () => {
        db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const cluster = pgCluster();

const postgres: Engine = {
  name: 'postgres',
  skip: cluster.skip,
  version: Math.max(...PG_MIGRATIONS.map((m) => m.version)),
  async open({ migrated = true } = {}) {
    const database = await pgDatabase(cluster.url());
    const pools: pg.Pool[] = [];
    const pool = (): PgSql => {
      const p = createPgPool(database.url, { max: 8 });
      pools.push(p);
      return new PgSql(p);
    };
    const sql = pool();
    if (migrated) await migratePg(sql);
    return {
      sql,
      url: database.url,
      clients: async (n) => Array.from({ length: n }, pool),
      migrate: (via = sql) => migratePg(via),
      close: async () => {
        await Promise.all(pools.map((p) => p.end()));
        await database.drop();
      },
    };
  },
};

export const ENGINES: Engine[] = [sqlite, postgres];

/** A describe title that says why the engine's cases are skipped. */
export const engineTitle = (e: Engine, what: string) => `${what} on ${e.name}${e.skip ? ` (skipped: ${e.skip})` : ''}`;
