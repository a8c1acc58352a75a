/**
 * The store's async SQL seam (issue 17, ADR 0020): what repositories and use cases will call once the store is
 * asynchronous, implemented over SQLite (better-sqlite3, SqliteSql) and PostgreSQL (pg.Pool, PgSql). Queries are
 * written once with `?` placeholders; PgSql rewrites them to `$1…$n`. Hand-written SQL per dialect, where the
 * dialects differ, switches on `dialect`.
 */
export type Dialect = 'sqlite' | 'postgres';

/** A bound value. Booleans are not: both engines store flags as 0/1 integers, as the schema always has. */
export type Param = string | number | bigint | null;

export interface TxOptions {
  /**
   * PostgreSQL only (SQLite's IMMEDIATE transactions are serial anyway): 'read committed' (default) with row locks
   * or delta upserts for counters, 'serializable' where a transaction reads, decides and writes what another may
   * change at once. Serialization failures and deadlocks are retried (the function runs again: no side effects
   * outside the transaction in it).
   */
  isolation?: 'read committed' | 'serializable';
  /** How many times a serialization failure or deadlock is retried before it becomes a CONFLICT (default 5). */
  retries?: number;
}

export interface Sql {
  readonly dialect: Dialect;
  all<T>(q: string, params?: readonly Param[]): Promise<T[]>;
  /** The first row, or undefined. */
  get<T>(q: string, params?: readonly Param[]): Promise<T | undefined>;
  /** An INSERT, UPDATE or DELETE: how many rows it changed. */
  run(q: string, params?: readonly Param[]): Promise<{ changes: number }>;
  /** A script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
  /**
   * Runs fn in one transaction on one connection and commits, or rolls back everything it did when it throws.
   * Inside fn use only the Sql it is given; a tx inside a tx is a savepoint (its failure undoes only its part).
   */
  tx<T>(fn: (sql: Sql) => Promise<T>, opts?: TxOptions): Promise<T>;
}

const rewritten = new Map<string, string>();

/**
 * `?` → `$n` in order, leaving string literals, quoted identifiers and comments alone. Shared SQL must not use
 * PostgreSQL's `?`-operators on jsonb (there are none in the store). Cached per query text.
 */
export function toPgPlaceholders(q: string): string {
  const hit = rewritten.get(q);
  if (hit !== undefined) return hit;
  let out = '';
  let n = 0;
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (c === "'" || c === '"') {
      const end = closing(q, i, c);
      out += q.slice(i, end);
      i = end - 1;
    } else if (c === '-' && q[i + 1] === '-') {
      const nl = q.indexOf('\n', i);
      const end = nl === -1 ? q.length : nl;
      out += q.slice(i, end);
      i = end - 1;
    } else if (c === '/' && q[i + 1] === '*') {
      const close = q.indexOf('*/', i + 2);
      const end = close === -1 ? q.length : close + 2;
      out += q.slice(i, end);
      i = end - 1;
    } else if (c === '?') {
      out += `$${++n}`;
    } else {
      out += c;
    }
  }
  if (rewritten.size < 10_000) rewritten.set(q, out);
  return out;
}

/** The index just past the quote that closes the one at `start` (a doubled quote is an escaped one). */
function closing(q: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < q.length) {
    if (q[i] === quote) {
      if (q[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return q.length;
}
