import { AsyncLocalStorage } from 'node:async_hooks';
import { prepared, type Db } from '../db.js';
import { Mutex } from './mutex.js';
import { mapSqliteError } from './sql-errors.js';
import type { Param, Sql, TxOptions } from './sql.js';

/**
 * The seam over one better-sqlite3 connection. A transaction spans awaits, and better-sqlite3 has one
 * transaction per connection: every call from outside a transaction waits on one mutex, so no other caller's
 * statement lands inside an open transaction. Transactions are BEGIN IMMEDIATE (the write lock up front, as the
 * sync store's `.immediate()`): other processes on the file wait for it (busy timeout), then see its result.
 * One process should use one connection for writes: a second connection in the same thread would block the
 * event loop in its busy wait while the first waits on an await (see ADR 0020).
 */
export class SqliteSql implements Sql {
  readonly dialect = 'sqlite' as const;
  private readonly lock = new Mutex();
  private readonly inTx = new AsyncLocalStorage<SqliteTx>();

  constructor(readonly db: Db) {}

  async all<T>(q: string, params: readonly Param[] = []): Promise<T[]> {
    return this.outside(() => all<T>(this.db, q, params));
  }

  async get<T>(q: string, params: readonly Param[] = []): Promise<T | undefined> {
    return this.outside(() => get<T>(this.db, q, params));
  }

  async run(q: string, params: readonly Param[] = []): Promise<{ changes: number }> {
    return this.outside(() => run(this.db, q, params));
  }

  async exec(script: string): Promise<void> {
    return this.outside(() => exec(this.db, script));
  }

  /**
   * Runs synchronous code on this connection under the same mutex as the async transactions: it starts only when no
   * async transaction is open (one that awaits mid-way keeps the connection until it commits) and none starts while
   * it runs. Whatever still uses the connection synchronously (the event side's fold and its writes, ADR 0020's
   * "Conversion, part 1") goes through here, so its `db.transaction()` never silently becomes a savepoint of another
   * caller's open transaction.
   */
  async exclusive<T>(syncFn: () => T): Promise<T> {
    this.refuseNested();
    return this.lock.run(() => {
      if (this.db.inTransaction) throw new Error(OPEN_TX);
      return syncFn();
    });
  }

  async tx<T>(fn: (sql: Sql) => Promise<T>, _opts?: TxOptions): Promise<T> {
    this.refuseNested();
    return this.lock.run(async () => {
      begin(this.db);
      const tx = new SqliteTx(this.db);
      try {
        const result = await this.inTx.run(tx, () => fn(tx));
        tx.close();
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        tx.close();
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw mapSqliteError(err);
      }
    });
  }

  private async outside<T>(fn: () => T): Promise<T> {
    this.refuseNested();
    return this.lock.run(fn);
  }

  /** The outer Sql called from inside its own transaction would wait for itself forever: a bug, said at once. */
  private refuseNested(): void {
    if (this.inTx.getStore()?.open) throw new Error('SqliteSql used inside its own transaction: use the Sql that tx() passes to the function');
  }
}

/** The Sql a transaction's function gets: statements run at once, on the connection the transaction holds. */
class SqliteTx implements Sql {
  readonly dialect = 'sqlite' as const;
  open = true;
  private savepoints = 0;

  constructor(private readonly db: Db) {}

  close(): void {
    this.open = false;
  }

  private check(): void {
    if (!this.open) throw new Error('transaction already finished: a statement was issued after tx() returned');
  }

  async all<T>(q: string, params: readonly Param[] = []): Promise<T[]> {
    this.check();
    return all<T>(this.db, q, params);
  }

  async get<T>(q: string, params: readonly Param[] = []): Promise<T | undefined> {
    this.check();
    return get<T>(this.db, q, params);
  }

  async run(q: string, params: readonly Param[] = []): Promise<{ changes: number }> {
    this.check();
    return run(this.db, q, params);
  }

  async exec(script: string): Promise<void> {
    this.check();
    exec(this.db, script);
  }

  async tx<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    this.check();
    const name = `sp${++this.savepoints}`;
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const result = await fn(this);
      this.db.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      this.db.exec(`ROLLBACK TO ${name}`);
      this.db.exec(`RELEASE ${name}`);
      throw mapSqliteError(err);
    }
  }
}

const OPEN_TX =
  'a synchronous transaction started while another transaction is open on the same SQLite connection: it would become a savepoint inside it; run it through SqliteSql.exclusive()';

/**
 * A synchronous IMMEDIATE transaction on the main connection, refused when one is already open there. better-sqlite3
 * would turn it into a SAVEPOINT of the open one — an async transaction awaiting mid-way on the same connection —
 * and mix two callers' writes (the second rolled back with the first, or committed by it). Synchronous writers that
 * can run while async transactions exist call this, or SqliteSql.exclusive() which waits its turn instead.
 */
export function syncTransaction<T>(db: Db, fn: () => T): T {
  if (db.inTransaction) throw new Error(OPEN_TX);
  return db.transaction(fn).immediate();
}

function begin(db: Db): void {
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (err) {
    throw mapSqliteError(err);
  }
}

function all<T>(db: Db, q: string, params: readonly Param[]): T[] {
  try {
    return prepared(db, q).all(...params) as T[];
  } catch (err) {
    throw mapSqliteError(err);
  }
}

function get<T>(db: Db, q: string, params: readonly Param[]): T | undefined {
  try {
    return prepared(db, q).get(...params) as T | undefined;
  } catch (err) {
    throw mapSqliteError(err);
  }
}

function run(db: Db, q: string, params: readonly Param[]): { changes: number } {
  try {
    return { changes: prepared(db, q).run(...params).changes };
  } catch (err) {
    throw mapSqliteError(err);
  }
}

function exec(db: Db, script: string): void {
  try {
    db.exec(script);
  } catch (err) {
    throw mapSqliteError(err);
  }
}
