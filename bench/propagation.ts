/**
 * Propagation between replicas on PostgreSQL (issue 17 item 5): a temp cluster provisioned as the tests do
 * (test/helpers/postgres.ts: initdb in a temp dir, a free loopback port, fsync off), N serving replicas in separate
 * processes (each its own pool and LISTEN connection, serving compiled from snapshots read through `Sql`, the
 * PostgreSQL change watcher), and K configuration writes made one after another by this process (a backend
 * allocation and content overrides for a new experiment plus bumpRevision, in one transaction, as a deploy's saga
 * commits them). Per write and replica: the time from the commit returning here to that replica's serving holding the
 * experiment (both clocks are this machine's: performance.timeOrigin + now), and the replica's own SLI sample
 * (revision age read on the database's clock plus its read and compile time). Median and p99, twice: LISTEN up
 * (NOTIFY, 5 s safety poll) and polling only (LISTEN never connects; a poll every --poll-ms, 200 by default, what
 * SEALAB_WATCH_INTERVAL_MS gives). The load average is printed; the cluster is removed at exit.
 *
 *   npx tsx bench/propagation.ts [--replicas 3] [--writes 50] [--poll-ms 200]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { bumpRevision } from '../src/store/pg/revision.js';
import { migratePg } from '../src/store/pg/migrate.js';
import { configRepos } from '../src/store/sql/config-repos.js';
import { createPgPool, PgSql } from '../src/store/sql/pg-sql.js';
import { openDb } from '../src/store/db.js';
import { wallClock } from '../src/systems/clock.js';
import { EmbeddedBackend, EmbeddedContent } from '../src/systems/embedded.js';
import { seedCatalog } from '../test/helpers/config-store.js';
import { missingPostgres, pgDatabase, startCluster } from '../test/helpers/postgres.js';
import { servingReplica } from '../test/helpers/serving-replica.js';
import { arg, loadLine, median } from './util.js';

const REPLICAS = arg('replicas', 3);
const WRITES = arg('writes', 50);
const POLL_MS = arg('poll-ms', 200);
const now = () => performance.timeOrigin + performance.now();

type ToChild = { expect: string };
type FromChild = { ready: true } | { served: string; at: number; sli: number | null; via: string | null };

/** A replica process: serves, and tells the parent when each expected key is served. */
async function child(url: string, name: string, listen: boolean): Promise<void> {
  const expected = new Set<string>();
  /** When each experiment key was first served here (a write may be served before the parent asks about it). */
  const servedAt = new Map<string, { at: number; sli: number | null; via: string | null }>();
  const send = (m: FromChild) => process.send?.(m);
  const r = servingReplica('postgres', url, {
    name,
    pollMs: POLL_MS,
    safetyPollMs: 5000,
    reconnectMs: 1000,
    // Polling only: LISTEN never connects (the watcher keeps retrying and polls meanwhile).
    ...(listen ? {} : { connect: () => Promise.reject(new Error('LISTEN disabled for the bench')) }),
    onCompiled: () => {
      const at = now();
      for (const e of r.index.experiments()) {
        if (e.status !== 'running' || servedAt.has(e.key)) continue;
        servedAt.set(e.key, { at, sli: r.serving.snapshot.propagationSeconds, via: r.revisions?.heard.at(-1)?.via ?? null });
      }
      answer();
    },
  });
  const answer = () => {
    for (const key of expected) {
      const s = servedAt.get(key);
      if (!s) continue;
      expected.delete(key);
      send({ served: key, ...s });
    }
  };
  process.on('message', (m: ToChild) => {
    expected.add(m.expect);
    answer();
  });
  process.on('disconnect', () => void r.close().then(() => process.exit(0)));
  await r.start();
  send({ ready: true });
}

/** One experiment's backend allocation and content overrides, written as a saga commit does, with the revision bumped. */
async function write(sql: PgSql, i: number, key: string, systems: { backend: EmbeddedBackend; content: EmbeddedContent }): Promise<void> {
  const id = `exp_${key}`;
  const variants = [
    { key: 'control', isControl: true, weight: 50, overrides: [] },
    { key: 'treatment', weight: 50, overrides: [{ slotId: 'shelf-2', contentId: 'sh-focus' }] },
  ];
  await sql.tx(async (tx) => {
    const op = { opId: `op_${key}`, surfaceId: 'home' };
    await systems.backend.putIn(tx, id, {
      ...op,
      step: 'backend.allocate',
      key,
      status: 'running',
      buckets: [[i % 10_000, (i % 10_000) + 1]],
      allocationPercent: 0.01,
      variants,
    });
    await systems.content.putIn(tx, id, { ...op, step: 'content.serve', serving: true, variants });
    await bumpRevision(tx);
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function round(url: string, listen: boolean): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const kids: ChildProcess[] = [];
  const waiting = new Map<string, (m: FromChild) => void>();
  try {
    await Promise.all(
      Array.from({ length: REPLICAS }, (_, n) => {
        const c = fork(self, ['--child', url, `r${n}`, listen ? 'listen' : 'poll'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        kids.push(c);
        return new Promise<void>((resolve, reject) => {
          c.on('message', (m: FromChild) => ('ready' in m ? resolve() : waiting.get(`${n}:${m.served}`)?.(m)));
          c.once('exit', (code) => reject(new Error(`replica r${n} exited (${code}) before it was ready`)));
        });
      }),
    );
    const sql = new PgSql(createPgPool(url, { max: 2 }));
    const unused = openDb(':memory:');
    const systems = { backend: new EmbeddedBackend(unused, wallClock), content: new EmbeddedContent(unused, wallClock) };
    const seen: number[] = [];
    const sli: number[] = [];
    const via = new Map<string, number>();
    try {
      for (let i = 0; i < WRITES; i++) {
        const key = `${listen ? 'listen' : 'poll'}-${i}`;
        const served = kids.map((_, n) => new Promise<FromChild>((resolve) => waiting.set(`${n}:${key}`, resolve)));
        await write(sql, i, key, systems);
        const committed = now();
        for (const c of kids) c.send({ expect: key } satisfies ToChild);
        for (const m of await Promise.all(served)) {
          if (!('at' in m)) continue;
          seen.push(Math.max(0, m.at - committed));
          if (m.sli !== null) sli.push(m.sli * 1000);
          via.set(m.via ?? 'first', (via.get(m.via ?? 'first') ?? 0) + 1);
        }
        // Writes a moment apart, not back to back: each is a deploy of its own, not a burst merged into one compile.
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await sql.pool.end();
      unused.close();
    }
    const mode = listen ? 'LISTEN up (NOTIFY; safety poll 5 s)' : `polling only (every ${POLL_MS} ms)`;
    console.log(
      `${mode}: ${REPLICAS} replicas × ${WRITES} writes — commit → served on another replica: median ${ms(median(seen))}, p99 ${ms(pct(seen, 99))}, max ${ms(Math.max(...seen))}`,
    );
    if (sli.length) console.log(`  the replicas' own SLI (sealab_config_propagation_seconds samples): median ${ms(median(sli))}, p99 ${ms(pct(sli, 99))}`);
    console.log(`  heard via: ${[...via].map(([k, v]) => `${k} ${v}`).join(', ')}; ${loadLine()}`);
  } finally {
    for (const c of kids) c.disconnect?.();
    await Promise.all(kids.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  }
}

async function main(): Promise<void> {
  const missing = missingPostgres();
  if (missing) throw new Error(missing);
  const cluster = await startCluster();
  const stop = () => cluster.stop();
  process.once('SIGINT', () => {
    stop();
    process.exit(130);
  });
  try {
    const database = await pgDatabase(cluster.url);
    const sql = new PgSql(createPgPool(database.url, { max: 2 }));
    await migratePg(sql);
    await seedCatalog(configRepos(sql));
    await sql.pool.end();
    console.log(`propagation on PostgreSQL 15 (temp cluster, fsync off), ${loadLine()}`);
    await round(database.url, true);
    await round(database.url, false);
  } finally {
    stop();
  }
}

if (process.argv[2] === '--child') {
  void child(process.argv[3], process.argv[4], process.argv[5] === 'listen').catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
