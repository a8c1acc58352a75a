import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { isPgRetryable, mapPgError, TxConflict } from './sql-errors.js';
import { type Param, type Sql, type TxOptions, toPgPlaceholders } from './sql.js';

const INT8 = 20;
const NUMERIC = 1700;

/** bigint and numeric come back as JS numbers (the store's ids, counts and sums fit); past 2^53 is a bug, not a rounding. */
function toNumber(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || (Number.isInteger(n) && !Number.isSafeInteger(n) && !text.includes('.'))) {
    throw new Error(`PostgreSQL value ${text} does not fit a JavaScript number`);
  }
  return n;
}

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 || oid === NUMERIC ? toNumber : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PgPoolOptions {
  max?: number;
  /** Errors of idle pooled connections (the server restarted, a backend was terminated): the pool drops them. */
  onError?: (err: Error) => void;
}

/** A pool whose rows read like SQLite's: bigint and numeric as numbers. */
export function createPgPool(url: string, opts: PgPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, types });
  pool.on('error', (err) => opts.onError?.(err));
  return pool;
}

/** The client settings PgSql's pools use, for a connection made outside a pool (RevisionWatcher's LISTEN). */
export const pgClientConfig = (url: string): pg.ClientConfig => ({ connectionString: url, types });

/**
 * The seam over a pg.Pool: each statement outside a transaction on any pooled connection; a transaction on
 * one checked-out client, BEGIN … COMMIT, retried on serialization failure or deadlock up to `retries` times with
 * a jittered backoff, then a CONFLICT (TxConflict).
 */
export class PgSql implements Sql {
  readonly dialect = 'postgres' as const;
  private readonly inTx = new AsyncLocalStorage<PgTx>();
  /** Transactions run again after a serialization failure or deadlock, since this Sql was made. */
  retried = 0;

  constructor(readonly pool: pg.Pool) {}

  async all<T>(q: string, params: readonly Param[] = []): Promise<T[]> {
    this.refuseNested();
    return (await query(this.pool, q, params)).rows as T[];
  }

  async get<T>(q: string, params: readonly Param[] = []): Promise<T | undefined> {
    return (await this.all<T>(q, params))[0];
  }

  async run(q: string, params: readonly Param[] = []): Promise<{ changes: number }> {
    this.refuseNested();
    return { changes: (await query(this.pool, q, params)).rowCount ?? 0 };
  }

  async exec(script: string): Promise<void> {
    this.refuseNested();
    await execScript(this.pool, script);
  }

  async tx<T>(fn: (sql: Sql) => Promise<T>, opts: TxOptions = {}): Promise<T> {
    this.refuseNested();
    const retries = opts.retries ?? 5;
    const begin = opts.isolation === 'serializable' ? 'BEGIN ISOLATION LEVEL SERIALIZABLE' : 'BEGIN';
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw mapPgError(err);
      }
      const tx = new PgTx(client);
      let broken: Error | undefined;
      // The pool listens for errors on idle clients only: one checked out here whose connection the server ends between
      // two statements (a restart, pg_terminate_backend) would emit an 'error' nobody handles and crash the process.
      const lost = (err: Error) => {
        broken = err;
      };
      client.on('error', lost);
      try {
        await client.query(begin);
        const result = await this.inTx.run(tx, () => fn(tx));
        tx.close();
        await client.query('COMMIT');
        return result;
      } catch (err) {
        tx.close();
        broken = (await rollback(client)) ?? broken;
        if (isPgRetryable(err) && attempt <= retries) {
          this.retried++;
          await backoff(attempt);
          continue;
        }
        throw isPgRetryable(err) ? new TxConflict(attempt, err) : mapPgError(err);
      } finally {
        // A client whose ROLLBACK failed, or whose connection was lost, is not reused: it may still be inside the transaction.
        client.off('error', lost);
        client.release(broken ?? false);
      }
    }
  }

  private refuseNested(): void {
    if (this.inTx.getStore()?.open) throw new Error('PgSql used inside its own transaction: use the Sql that tx() passes to the function');
  }
}

/** The Sql a transaction's function gets: every statement on the transaction's client. */
class PgTx implements Sql {
  readonly dialect = 'postgres' as const;
  open = true;
  private savepoints = 0;

  constructor(private readonly client: pg.PoolClient) {}

  close(): void {
    this.open = false;
  }

  private check(): void {
    if (!this.open) throw new Error('transaction already finished: a statement was issued after tx() returned');
  }

  async all<T>(q: string, params: readonly Param[] = []): Promise<T[]> {
    this.check();
    return (await query(this.client, q, params)).rows as T[];
  }

  async get<T>(q: string, params: readonly Param[] = []): Promise<T | undefined> {
    return (await this.all<T>(q, params))[0];
  }

  async run(q: string, params: readonly Param[] = []): Promise<{ changes: number }> {
    this.check();
    return { changes: (await query(this.client, q, params)).rowCount ?? 0 };
  }

  async exec(script: string): Promise<void> {
    this.check();
    await execScript(this.client, script);
  }

  /** A savepoint. A serialization failure inside it still aborts the whole transaction, which tx() retries. */
  async tx<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    this.check();
    const name = `sp${++this.savepoints}`;
    await this.client.query(`SAVEPOINT ${name}`);
    try {
      const result = await fn(this);
      await this.client.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (err) {
      if (!isPgRetryable(err)) await this.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw err;
    }
  }
}

type Queryable = pg.Pool | pg.PoolClient;

async function query(db: Queryable, q: string, params: readonly Param[]): Promise<pg.QueryResult> {
  try {
    return await db.query(toPgPlaceholders(q), params as unknown[]);
  } catch (err) {
    throw mapPgError(err);
  }
}

async function execScript(db: Queryable, script: string): Promise<void> {
  try {
    await db.query(script);
  } catch (err) {
    throw mapPgError(err);
  }
}

async function rollback(client: pg.PoolClient): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

/** 2^attempt ms with full jitter, capped at 100 ms: retried writers spread out instead of colliding again. */
const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** attempt)));
