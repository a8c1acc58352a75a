import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratePg } from '../../src/store/pg/migrate.js';
import { bumpRevision, readRevision } from '../../src/store/pg/revision.js';
import { RevisionWatcher, type RevisionSource } from '../../src/store/pg/revision-watcher.js';
import { createPgPool, PgSql, pgClientConfig } from '../../src/store/sql/pg-sql.js';
import { pgCluster, pgDatabase } from '../helpers/postgres.js';

const cluster = pgCluster();

/** Waits for a condition the system under test brings about; the bound only ends a broken run. */
async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(cluster.skip)(`the configuration revision on PostgreSQL${cluster.skip ? ` (skipped: ${cluster.skip})` : ''}`, () => {
  let url: string;
  let drop: () => Promise<void>;
  let writer: PgSql;
  let reader: PgSql;
  beforeAll(async () => {
    const database = await pgDatabase(cluster.url());
    ({ url, drop } = database);
    // Two replicas: one writes, the other watches (its own pool for polls, its own LISTEN connection).
    writer = new PgSql(createPgPool(url, { max: 2 }));
    reader = new PgSql(createPgPool(url, { max: 2 }));
    await migratePg(writer);
  });
  afterAll(async () => {
    await writer?.pool.end();
    await reader?.pool.end();
    await drop?.();
  });

  it('is bumped by a committed write only, in order', async () => {
    const before = await readRevision(writer);
    const bumped = await writer.tx((tx) => bumpRevision(tx));
    expect(bumped).toBe(before + 1);
    await expect(
      writer.tx(async (tx) => {
        await bumpRevision(tx);
        throw new Error('the write failed after the bump');
      }),
    ).rejects.toThrow('the write failed');
    expect(await readRevision(reader)).toBe(before + 1);
  });

  it('reaches a watcher by NOTIFY; by polling while LISTEN is down; by NOTIFY again once it reconnects', async () => {
    const seen: { revision: number; via: RevisionSource }[] = [];
    let connects = 0;
    let letReconnect!: () => void;
    const reconnectAllowed = new Promise<void>((r) => {
      letReconnect = r;
    });
    const watcher = new RevisionWatcher({
      url,
      sql: reader,
      onRevision: (revision, via) => seen.push({ revision, via }),
      pollMs: 50,
      safetyPollMs: 0, // while listening, only NOTIFY brings news: the case tells the paths apart
      reconnectMs: 20,
      // The second connection (the reconnect) waits until the test has seen the poll do its part.
      connect: async () => {
        if (++connects > 1) await reconnectAllowed;
        const c = new pg.Client(pgClientConfig(url));
        await c.connect();
        return c;
      },
      onError: () => {},
    });
    try {
      const start = await watcher.start();
      expect(watcher.listening).toBe(true);

      const r1 = await writer.tx((tx) => bumpRevision(tx));
      expect(r1).toBe(start + 1);
      await until('the notified revision', () => watcher.revision === r1);
      expect(seen.at(-1)).toEqual({ revision: r1, via: 'notify' });

      const pid = watcher.listenerPid as number;
      await writer.get('SELECT pg_terminate_backend(?)::text AS done', [pid]);
      await until('the watcher to notice the dropped LISTEN', () => !watcher.listening);

      const r2 = await writer.tx((tx) => bumpRevision(tx));
      await until('the polled revision', () => watcher.revision === r2);
      expect(seen.at(-1)).toEqual({ revision: r2, via: 'poll' });

      letReconnect();
      await until('LISTEN to be back', () => watcher.listening);
      expect(watcher.listenerPid).not.toBe(pid);

      const r3 = await writer.tx((tx) => bumpRevision(tx));
      await until('the notified revision after reconnecting', () => watcher.revision === r3);
      expect(seen.at(-1)).toEqual({ revision: r3, via: 'notify' });
      expect(seen.map((s) => s.revision)).toEqual([r1, r2, r3]);
    } finally {
      await watcher.stop();
    }
  });
});
