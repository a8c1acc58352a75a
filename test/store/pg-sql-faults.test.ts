import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, PgSql } from '../../src/store/sql/pg-sql.js';
import { pgCluster, pgDatabase } from '../helpers/postgres.js';

const cluster = pgCluster();

/**
 * PgSql when the server ends its connections (a restart, a failover, pg_terminate_backend): every failure is the typed,
 * retryable UPSTREAM_UNAVAILABLE, and nothing is thrown outside a caller's promise (a gateway would crash on it).
 * Found by test/ops/gateways-pg.test.ts's restart mid-ingest; reproduced here on the run's shared cluster by
 * terminating this file's own backends only.
 */
describe.skipIf(cluster.skip)(`PgSql under terminated connections${cluster.skip ? ` (skipped: ${cluster.skip})` : ''}`, () => {
  let sql: PgSql;
  let admin: pg.Client;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const database = await pgDatabase(cluster.url());
    drop = database.drop;
    sql = new PgSql(createPgPool(database.url, { max: 2, onError: () => undefined }));
    admin = new pg.Client({ connectionString: cluster.url() });
    await admin.connect();
    await sql.exec('CREATE TABLE t (id bigint PRIMARY KEY)');
  });
  afterAll(async () => {
    await sql?.pool.end();
    await admin?.end();
    await drop?.();
  });

  /** Terminates a backend and waits until the server has let it go (its FATAL message is on the wire by then). */
  async function terminate(pid: number): Promise<void> {
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    for (;;) {
      const { rows } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
      if (!rows.length) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 20)); // let the client's socket read it
  }

  it("a transaction whose connection is ended between two statements: UPSTREAM_UNAVAILABLE, nothing committed, no uncaught 'error'", async () => {
    const uncaught: unknown[] = [];
    const record = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', record);
    try {
      const failed = sql.tx(async (tx) => {
        await tx.run('INSERT INTO t (id) VALUES (1)');
        const { pid } = (await tx.get<{ pid: number }>('SELECT pg_backend_pid() AS pid'))!;
        await terminate(pid);
        await tx.run('INSERT INTO t (id) VALUES (2)');
      });
      await expect(failed).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
      expect(uncaught).toEqual([]);
      // The pool gave up the dead connection: the next statements run on a new one.
      expect(await sql.all('SELECT id FROM t')).toEqual([]);
      await sql.tx((tx) => tx.run('INSERT INTO t (id) VALUES (3)'));
      expect(await sql.all('SELECT id FROM t')).toEqual([{ id: 3 }]);
    } finally {
      process.off('uncaughtException', record);
    }
  });

  it('statements outside a transaction on connections the server ended: UPSTREAM_UNAVAILABLE or answered, never an untyped error', async () => {
    const pids = (
      await Promise.all([sql.get<{ pid: number }>('SELECT pg_backend_pid() AS pid'), sql.get<{ pid: number }>('SELECT pg_backend_pid() AS pid')])
    ).map((r) => r!.pid);
    for (const pid of new Set(pids)) await terminate(pid);
    const outcomes = await Promise.allSettled([sql.get('SELECT 1 AS one'), sql.get('SELECT 1 AS one')]);
    for (const o of outcomes) {
      if (o.status === 'fulfilled') expect(o.value).toEqual({ one: 1 });
      else expect(o.reason).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    }
    expect(await sql.get('SELECT 1 AS one')).toEqual({ one: 1 });
  });
});
