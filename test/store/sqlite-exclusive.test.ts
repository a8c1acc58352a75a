import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../src/store/db.js';
import { SqliteSql, syncTransaction } from '../../src/store/sql/sqlite-sql.js';

/**
 * ADR 0020, conversion part 1: on SQLite the async store and the code still synchronous share one better-sqlite3
 * connection. An async transaction that awaits mid-way keeps BEGIN IMMEDIATE open; a synchronous `db.transaction()`
 * run then would silently become a SAVEPOINT inside it. These cases show the hazard and the two ways it is closed.
 */
describe('SQLite: synchronous code beside async transactions on one connection', () => {
  let dir: string;
  let db: Db;
  let sql: SqliteSql;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealab-exclusive-'));
    db = openDb(path.join(dir, 'store.db'));
    db.exec('CREATE TABLE notes (who TEXT NOT NULL, n INTEGER NOT NULL)');
    sql = new SqliteSql(db);
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const rows = () => db.prepare('SELECT who, n FROM notes ORDER BY rowid').all();

  /** An async transaction that writes, then waits on `gate` (a remote call, a timer: anything that yields the event loop). */
  function openTx(gate: Promise<void>, fail = false) {
    let entered!: () => void;
    const inside = new Promise<void>((r) => {
      entered = r;
    });
    const done = sql.tx(async (tx) => {
      await tx.run("INSERT INTO notes (who, n) VALUES ('async', 1)");
      entered();
      await gate;
      await tx.run("INSERT INTO notes (who, n) VALUES ('async', 2)");
      if (fail) throw new Error('async transaction failed');
    });
    return { inside, done };
  }

  function gate() {
    let open!: () => void;
    const p = new Promise<void>((r) => {
      open = r;
    });
    return { p, open };
  }

  it('the hazard: a plain db.transaction() during an awaiting async transaction joins it and is rolled back with it', async () => {
    const g = gate();
    const t = openTx(g.p, true);
    await t.inside;
    db.transaction(() => db.prepare("INSERT INTO notes (who, n) VALUES ('sync', 1)").run()).immediate();
    g.open();
    await expect(t.done).rejects.toThrow('async transaction failed');
    // The synchronous caller "committed", yet its row is gone: it was a savepoint of the other transaction.
    expect(rows()).toEqual([]);
  });

  it('exclusive() waits for the open transaction to commit, then runs alone', async () => {
    const g = gate();
    const t = openTx(g.p);
    await t.inside;
    const order: string[] = [];
    const sync = sql.exclusive(() => {
      order.push(`sync sees inTransaction=${db.inTransaction}`);
      syncTransaction(db, () => db.prepare("INSERT INTO notes (who, n) VALUES ('sync', 1)").run());
      return rows().length;
    });
    // Give the queued exclusive every chance to jump in while the transaction still awaits.
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    g.open();
    await t.done;
    order.push('async committed');
    expect(await sync).toBe(3); // it saw both committed async rows, then its own
    expect(order).toEqual(['sync sees inTransaction=false', 'async committed']);
    expect(rows()).toEqual([
      { who: 'async', n: 1 },
      { who: 'async', n: 2 },
      { who: 'sync', n: 1 },
    ]);
  });

  it('exclusive() after a transaction that rolls back keeps its own write, and the rolled-back one leaves nothing', async () => {
    const g = gate();
    const t = openTx(g.p, true);
    await t.inside;
    const sync = sql.exclusive(() => syncTransaction(db, () => db.prepare("INSERT INTO notes (who, n) VALUES ('sync', 1)").run().changes));
    g.open();
    await expect(t.done).rejects.toThrow('async transaction failed');
    expect(await sync).toBe(1);
    expect(rows()).toEqual([{ who: 'sync', n: 1 }]);
  });

  it('an async transaction asked for while exclusive() runs starts after it', async () => {
    const order: string[] = [];
    const sync = sql.exclusive(() => {
      order.push('sync');
      return syncTransaction(db, () => db.prepare("INSERT INTO notes (who, n) VALUES ('sync', 1)").run().changes);
    });
    const asyncTx = sql.tx(async (tx) => {
      order.push('async');
      return (await tx.get<{ c: number }>('SELECT COUNT(*) AS c FROM notes'))?.c;
    });
    expect(await asyncTx).toBe(1);
    await sync;
    expect(order).toEqual(['sync', 'async']);
  });

  it('the guard: syncTransaction() refuses to start inside an open transaction instead of nesting in it', async () => {
    const g = gate();
    const t = openTx(g.p);
    await t.inside;
    expect(() => syncTransaction(db, () => db.prepare("INSERT INTO notes (who, n) VALUES ('sync', 1)").run())).toThrow(/SqliteSql\.exclusive/);
    g.open();
    await t.done;
    expect(rows()).toEqual([
      { who: 'async', n: 1 },
      { who: 'async', n: 2 },
    ]);
    // With nothing open it is an ordinary immediate transaction.
    expect(syncTransaction(db, () => db.prepare("INSERT INTO notes (who, n) VALUES ('sync', 1)").run().changes)).toBe(1);
  });

  it('refuses exclusive() from inside a transaction of the same Sql (it would wait on itself)', async () => {
    await expect(sql.tx(async () => sql.exclusive(() => 1))).rejects.toThrow(/inside its own transaction/);
  });
});
