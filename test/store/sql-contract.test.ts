import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError, toAppError } from '../../src/errors.js';
import { openDb } from '../../src/store/db.js';
import { PG_MIGRATIONS } from '../../src/store/pg/migrations.js';
import { SqlLeaseRepo } from '../../src/store/sql/lease-repo.js';
import { StoreUnavailable, UniqueViolation } from '../../src/store/sql/sql-errors.js';
import type { Sql } from '../../src/store/sql/sql.js';
import type { SqliteSql } from '../../src/store/sql/sqlite-sql.js';
import { type EngineDb, ENGINES, engineTitle } from '../helpers/sql-engines.js';

/**
 * The same cases on SQLite and on a real PostgreSQL (issue 17, ADR 0020): what the store will rely on from either
 * engine through the async seam. A case that needs engine-specific setup says so; its expectation is the same.
 */
const COUNTERS = 'CREATE TABLE counters (name TEXT PRIMARY KEY, n BIGINT NOT NULL)';

async function total(sql: Sql, name: string): Promise<number | undefined> {
  return (await sql.get<{ n: number }>('SELECT n FROM counters WHERE name = ?', [name]))?.n;
}

/** Runs `each` times fn on every client at once (all transactions in flight together, as replicas would). */
async function hammer(clients: Sql[], each: number, fn: (sql: Sql, i: number) => Promise<unknown>): Promise<void> {
  await Promise.all(clients.flatMap((sql) => Array.from({ length: each }, (_, i) => fn(sql, i))));
}

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(engineTitle(engine, 'the SQL seam'), () => {
    let db: EngineDb;
    beforeEach(async () => {
      db = await engine.open();
    });
    afterEach(async () => {
      await db?.close();
    });

    it('applies the migrations to an empty database once, and again as a no-op', async () => {
      const empty = await engine.open({ migrated: false });
      try {
        expect(await empty.migrate()).toBe(engine.version);
        const applied = await empty.sql.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
        expect(applied.at(-1)?.version).toBe(engine.version);
        expect(await empty.migrate()).toBe(engine.version);
        expect(await empty.sql.all('SELECT version FROM schema_migrations ORDER BY version')).toEqual(applied);
        // The schema is there: the tables the leases, the event log and its fold use.
        expect(await empty.sql.get('SELECT folded_seq FROM fold_state WHERE id = 1')).toEqual({ folded_seq: 0 });
        expect(await empty.sql.all('SELECT name FROM leases')).toEqual([]);
      } finally {
        await empty.close();
      }
    });

    it.runIf(engine.name === 'postgres')('migrates once when three replicas start at the same time', async () => {
      const empty = await engine.open({ migrated: false });
      try {
        const pools = await empty.clients(3);
        const v = engine.version;
        expect(await Promise.all(pools.map((p) => empty.migrate(p)))).toEqual([v, v, v]);
        expect(await empty.sql.all('SELECT version FROM schema_migrations ORDER BY version')).toEqual(PG_MIGRATIONS.map((m) => ({ version: m.version })));
        expect(await empty.sql.get('SELECT revision FROM config_revision')).toEqual({ revision: 0 });
      } finally {
        await empty.close();
      }
    });

    it('binds ? placeholders in order, leaving quoted question marks and comments alone', async () => {
      await db.sql.exec(COUNTERS);
      const q = "INSERT INTO counters (name, n) VALUES (? || '?' || ?, ?) -- a comment? yes\n";
      expect(await db.sql.run(q, ['a', 'b', 1])).toEqual({ changes: 1 });
      expect(await db.sql.run('INSERT INTO counters (name, n) VALUES (?, ?) /* ? */', ["it's", 2 ** 40])).toEqual({ changes: 1 });
      expect(await db.sql.get('SELECT name, n FROM counters WHERE name = ?', ['a?b'])).toEqual({ name: 'a?b', n: 1 });
      // bigint columns, counts and sums read back as numbers on both engines.
      expect(await db.sql.get("SELECT n FROM counters WHERE name = 'it''s'")).toEqual({ n: 2 ** 40 });
      expect(await db.sql.get('SELECT COUNT(*) AS c, SUM(n) AS s FROM counters')).toEqual({ c: 2, s: 2 ** 40 + 1 });
      expect(await db.sql.all('SELECT name FROM counters WHERE n > ? ORDER BY name', [0])).toEqual([{ name: 'a?b' }, { name: "it's" }]);
      expect(await db.sql.get('SELECT n FROM counters WHERE name = ?', ['none'])).toBeUndefined();
      expect(await db.sql.run('UPDATE counters SET n = n + 1 WHERE n < ?', [10])).toEqual({ changes: 1 });
      expect(await db.sql.run('DELETE FROM counters WHERE name = ?', ['none'])).toEqual({ changes: 0 });
    });

    it('commits a transaction, and rolls back everything of one that throws', async () => {
      await db.sql.exec(COUNTERS);
      const value = await db.sql.tx(async (tx) => {
        await tx.run('INSERT INTO counters (name, n) VALUES (?, ?)', ['kept', 1]);
        return tx.get<{ n: number }>('SELECT n FROM counters WHERE name = ?', ['kept']);
      });
      expect(value).toEqual({ n: 1 });
      const boom = new AppError('PRECONDITION_FAILED', 'refused half way', 'nothing');
      await expect(
        db.sql.tx(async (tx) => {
          await tx.run('INSERT INTO counters (name, n) VALUES (?, ?)', ['lost', 1]);
          await tx.run('UPDATE counters SET n = 99 WHERE name = ?', ['kept']);
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await db.sql.all('SELECT name, n FROM counters ORDER BY name')).toEqual([{ name: 'kept', n: 1 }]);
      // A transaction inside a transaction is a savepoint: its failure undoes its part only.
      await db.sql.tx(async (tx) => {
        await tx.run('INSERT INTO counters (name, n) VALUES (?, ?)', ['outer', 1]);
        await expect(
          tx.tx(async (inner) => {
            await inner.run('INSERT INTO counters (name, n) VALUES (?, ?)', ['inner', 1]);
            throw boom;
          }),
        ).rejects.toBe(boom);
      });
      expect(await db.sql.all('SELECT name FROM counters ORDER BY name')).toEqual([{ name: 'kept' }, { name: 'outer' }]);
    });

    it('refuses the outer client inside its own transaction instead of deadlocking on it', async () => {
      await expect(db.sql.tx(async () => db.sql.get('SELECT 1 AS one'))).rejects.toThrow(/inside its own transaction/);
      expect(await db.sql.get('SELECT 1 AS one')).toEqual({ one: 1 });
    });

    it('loses no update from three clients × 200 transactions: n = n + 1 and delta upserts', async () => {
      await db.sql.exec(COUNTERS);
      await db.sql.run('INSERT INTO counters (name, n) VALUES (?, 0)', ['inc']);
      const clients = await db.clients(3);
      await hammer(clients, 200, (sql) => sql.tx((tx) => tx.run('UPDATE counters SET n = n + 1 WHERE name = ?', ['inc'])));
      expect(await total(db.sql, 'inc')).toBe(600);
      // The aggregates' shape: insert the first delta, add every later one (quantile_bins, metric_aggregates).
      await hammer(clients, 200, (sql, i) =>
        sql.tx((tx) => tx.run('INSERT INTO counters (name, n) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET n = counters.n + excluded.n', ['upsert', i % 3])),
      );
      expect(await total(db.sql, 'upsert')).toBe(3 * (67 * 0 + 67 * 1 + 66 * 2));
    });

    it('loses no update when transactions read, decide and write (serializable on PostgreSQL, retried)', async () => {
      await db.sql.exec(COUNTERS);
      await db.sql.run('INSERT INTO counters (name, n) VALUES (?, 0)', ['rmw']);
      const clients = await db.clients(3);
      await hammer(clients, 40, (sql) =>
        sql.tx(
          async (tx) => {
            const n = (await total(tx, 'rmw')) as number;
            await tx.run('UPDATE counters SET n = ? WHERE name = ?', [n + 1, 'rmw']);
          },
          { isolation: 'serializable', retries: 200 },
        ),
      );
      expect(await total(db.sql, 'rmw')).toBe(120);
    });

    it('turns a duplicate key into a CONFLICT and leaves nothing of the transaction', async () => {
      await db.sql.exec(COUNTERS);
      await db.sql.run('INSERT INTO counters (name, n) VALUES (?, ?)', ['taken', 1]);
      const err = await db.sql.run('INSERT INTO counters (name, n) VALUES (?, ?)', ['taken', 2]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UniqueViolation);
      expect(toAppError(err).code).toBe('CONFLICT');
      await expect(
        db.sql.tx(async (tx) => {
          await tx.run('INSERT INTO counters (name, n) VALUES (?, ?)', ['fresh', 1]);
          await tx.run('INSERT INTO counters (name, n) VALUES (?, ?)', ['taken', 3]);
        }),
      ).rejects.toBeInstanceOf(UniqueViolation);
      expect(await db.sql.all('SELECT name, n FROM counters')).toEqual([{ name: 'taken', n: 1 }]);
    });

    it('turns a write that cannot get its lock in time into UPSTREAM_UNAVAILABLE', async () => {
      await db.sql.exec(COUNTERS);
      await db.sql.run('INSERT INTO counters (name, n) VALUES (?, ?)', ['locked', 1]);
      const err = await holdingWriteLock(engine.name, db, (sql) => sql.tx((tx) => tx.run('UPDATE counters SET n = 2 WHERE name = ?', ['locked']))).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreUnavailable);
      expect(toAppError(err).code).toBe('UPSTREAM_UNAVAILABLE');
      expect(await total(db.sql, 'locked')).toBe(1);
    });

    it('gives a lease to exactly one of the clients racing for it, every round', async () => {
      const repos = (await db.clients(3)).map((sql) => new SqlLeaseRepo(sql));
      const t0 = Date.parse('2026-12-07T00:00:00Z');
      for (let round = 0; round < 10; round++) {
        const now = new Date(t0 + round * 60_000);
        const tries = repos.flatMap((repo, r) =>
          [0, 1, 2, 3].map((k) => ({ owner: `replica-${r}-${k}`, won: repo.acquire('scheduler', `replica-${r}-${k}`, 30_000, now) })),
        );
        const results = await Promise.all(tries.map(async (t) => ({ owner: t.owner, won: await t.won })));
        const winners = results.filter((r) => r.won).map((r) => r.owner);
        expect(winners).toHaveLength(1);
        expect((await repos[0].get('scheduler'))?.owner).toBe(winners[0]);
      }
    });

    it('holds a lease until it expires, renews it for its owner only, and frees it on release', async () => {
      const [a, b] = (await db.clients(2)).map((sql) => new SqlLeaseRepo(sql));
      const t0 = Date.parse('2026-12-07T00:00:00Z');
      const at = (ms: number) => new Date(t0 + ms);
      expect(await a.acquire('ramp', 'A', 1000, at(0))).toBe(true);
      expect(await b.acquire('ramp', 'B', 1000, at(999))).toBe(false);
      expect(await a.acquire('ramp', 'A', 1000, at(500))).toBe(true); // renewed until 1,500
      expect(await b.acquire('ramp', 'B', 1000, at(1499))).toBe(false);
      expect(await b.acquire('ramp', 'B', 1000, at(1500))).toBe(true); // expired: taken over
      expect(await a.acquire('ramp', 'A', 1000, at(1501))).toBe(false);
      await a.release('ramp', 'A'); // not A's any more: nothing happens
      expect(await a.get('ramp')).toEqual({ name: 'ramp', owner: 'B', until: at(2500).toISOString() });
      await b.release('ramp', 'B');
      expect(await a.list()).toEqual([]);
      expect(await a.acquire('ramp', 'A', 1000, at(1600))).toBe(true);
    });
  });
}

/**
 * Runs `write` on a second client while another holds the write lock it needs, with a short lock wait: SQLite's
 * busy timeout against a second connection's BEGIN IMMEDIATE; PostgreSQL's lock_timeout against a row lock.
 */
async function holdingWriteLock(engine: 'sqlite' | 'postgres', db: EngineDb, write: (sql: Sql) => Promise<unknown>): Promise<unknown> {
  if (engine === 'sqlite') {
    const own = (db.sql as SqliteSql).db;
    const holder = openDb(own.name);
    holder.exec('BEGIN IMMEDIATE');
    own.pragma('busy_timeout = 50');
    try {
      return await write(db.sql);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  }
  const [holder, writer] = await db.clients(2);
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => {
    locked = r;
  });
  const held = holder.tx(async (tx) => {
    await tx.get("SELECT n FROM counters WHERE name = 'locked' FOR UPDATE");
    locked();
    await released;
  });
  await isLocked;
  try {
    return await writer.tx(async (tx) => {
      await tx.exec("SET LOCAL lock_timeout = '50ms'");
      return write(tx);
    });
  } finally {
    release();
    await held;
  }
}
