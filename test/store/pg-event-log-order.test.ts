import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockEventLogAppends } from '../../src/store/pg/event-log-lock.js';
import { migratePg } from '../../src/store/pg/migrate.js';
import { createPgPool, PgSql } from '../../src/store/sql/pg-sql.js';
import type { Sql } from '../../src/store/sql/sql.js';
import { pgCluster, pgDatabase } from '../helpers/postgres.js';

/**
 * Why the event log needs an append lock on PostgreSQL (ADR 0020): seqs are drawn at insert and may commit out of
 * order, which a fold's watermark (ADR 0018) would skip; with lockEventLogAppends they commit in seq order.
 */
const cluster = pgCluster();

const append = (tx: Sql, id: string) =>
  tx.get<{ seq: number }>("INSERT INTO event_log (id, type, unit_id, ref, ts, received_at) VALUES (?, 'metric', 'u1', 'm', 't', 't') RETURNING seq", [id]);

/** A transaction held open until release() is called; `inside` resolves once its body has run up to the wait. */
function openTx(sql: Sql, body: (tx: Sql) => Promise<unknown>) {
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let ready!: (v: unknown) => void;
  const inside = new Promise((r) => {
    ready = r;
  });
  const done = sql.tx(async (tx) => {
    ready(await body(tx));
    await released;
  });
  return { inside, release, done };
}

describe.skipIf(cluster.skip)(`event log seq order on PostgreSQL${cluster.skip ? ` (skipped: ${cluster.skip})` : ''}`, () => {
  let a: PgSql;
  let b: PgSql;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const database = await pgDatabase(cluster.url());
    drop = database.drop;
    a = new PgSql(createPgPool(database.url, { max: 3 }));
    b = new PgSql(createPgPool(database.url, { max: 3 }));
    await migratePg(a);
  });
  afterAll(async () => {
    await a?.pool.end();
    await b?.pool.end();
    await drop?.();
  });

  it('commits a later seq before an earlier one when appends are not serialised', async () => {
    const first = openTx(a, (tx) => append(tx, 'x:first'));
    const firstSeq = ((await first.inside) as { seq: number }).seq;
    const second = await b.tx((tx) => append(tx, 'x:second'));
    expect(second?.seq).toBeGreaterThan(firstSeq);
    // What a fold would read now: the later seq, and not the earlier one still in flight.
    expect(await b.all('SELECT seq FROM event_log WHERE seq >= ? ORDER BY seq', [firstSeq])).toEqual([{ seq: second?.seq }]);
    first.release();
    await first.done;
  });

  it('commits appends in seq order when each transaction takes the append lock first', async () => {
    const first = openTx(a, async (tx) => {
      await lockEventLogAppends(tx);
      return append(tx, 'x:locked-1');
    });
    const firstSeq = ((await first.inside) as { seq: number }).seq;
    const second = b.tx(async (tx) => {
      await lockEventLogAppends(tx);
      return append(tx, 'x:locked-2');
    });
    // The second appender waits on the lock: seen in pg_locks, not by the clock.
    for (;;) {
      const waiting = await a.get<{ n: number }>("SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
      if (waiting?.n === 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await a.all('SELECT id FROM event_log WHERE seq >= ?', [firstSeq])).toEqual([]);
    first.release();
    await first.done;
    expect((await second)?.seq).toBeGreaterThan(firstSeq);
    expect(await a.all('SELECT id FROM event_log WHERE seq >= ? ORDER BY seq', [firstSeq])).toEqual([{ id: 'x:locked-1' }, { id: 'x:locked-2' }]);
  });
});
