/**
 * Ingest and fold on PostgreSQL (issue 17 item 5, ADR 0020 part 2): events/s acknowledged (PgEventLog: one
 * multi-row INSERT … ON CONFLICT DO NOTHING RETURNING per batch of 1,000 under the append lock, the audit row in
 * the same transaction) AND folded (PgFold turns on a third pool, running while the appends run; the clock stops
 * once the log is caught up), from `--clients` pools appending at once as replicas would. Each round pairs it with
 * the same rows written raw into a table of the event log's columns keyed by id: a multi-row `INSERT … VALUES`
 * per batch, and the COPY-equivalent `INSERT … SELECT FROM unnest(…)` per batch (no COPY client is installed), each
 * with the same number of clients. Medians of rounds; unit and event ids random. Then the reads get_metrics makes
 * (aggregates, daily history and exposure counts of three metrics, freshness, backlog) timed on the folded data.
 *
 * Then the same events through the ingest path a replica runs (PgIngest: validation reads, the append transaction;
 * PgFoldRunner's back-pressure), twice: with the backlog bound (`--backlog-max`, default 20,000, so 100,000 events cross
 * it) and without one, the fold loop on its own pool beside them as above — so whether back-pressure changes sustained
 * throughput, and how far the backlog runs, reads off two lines of the same run.
 *
 * A throwaway cluster (Debian's postgresql-15, as the tests use: test/helpers/postgres.ts; fsync off, so both sides
 * are measured without the disk flush) in a temp directory, stopped and removed at exit.
 *
 *   npx tsx bench/pg-ingest.ts [--events 100000] [--units 50000] [--rounds 2] [--clients 2] [--backlog-max 20000]
 */
import pg from 'pg';
import { benchContainer } from './helpers.js';
import { arg, fmt, loadLine, median, unitIds } from './util.js';
import { startCluster } from '../test/helpers/postgres.js';
import { migratePg } from '../src/store/pg/migrate.js';
import { createPgPool, PgSql } from '../src/store/sql/pg-sql.js';
import type { Sql } from '../src/store/sql/sql.js';
import type { LogEntry } from '../src/store/event-log.js';
import { PgEventLog } from '../src/store/pg/pg-event-log.js';
import { PgFold } from '../src/store/pg/pg-fold.js';
import { EventReads } from '../src/store/event-reads.js';
import { pgArray } from '../src/store/pg/pg-arrays.js';
import { PgIngest } from '../src/app/events/ingest-paths.js';
import { PgFoldRunner } from '../src/app/events/pg-fold-runner.js';
import { configRepos } from '../src/store/sql/config-repos.js';
import { wallClock } from '../src/systems/clock.js';
import { createLogger } from '../src/logger.js';

const EVENTS = arg('events', 100_000);
const UNITS = arg('units', 50_000);
const ROUNDS = arg('rounds', 2);
const CLIENTS = arg('clients', 2);
const BACKLOG_MAX = arg('backlog-max', 20_000);
const BATCH = 1000;
const METRICS = ['stream-rate', 'minutes-played', 'crash-rate'];
const ctx = { actor: 'bench', interface: 'cli' as const, operation: 'bench', requestId: 'bench' };

const cluster = await startCluster();
let stopped = false;
const stop = () => {
  if (!stopped) cluster.stop();
  stopped = true;
};
process.on('exit', stop);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    stop();
    process.exit(130);
  });

// The experiment and catalog come from a SQLite container (its composition root is SQLite only for now), copied over.
const { app, experimentId, dispose } = await benchContainer('pg-ingest');
const variants = (await app.experiments.get(experimentId)).variants.map((v) => v.key);
const catalog: [string, Record<string, string | number | null>[]][] = ['surfaces', 'metrics', 'experiments'].map((t) => [
  t,
  app.deps.db.prepare(`SELECT * FROM ${t}`).all() as Record<string, string | number | null>[],
]);
dispose();

const units = unitIds(UNITS);
const unitOf = Array.from({ length: EVENTS }, () => units[Math.floor(Math.random() * UNITS)]);
const eventIds = unitIds(EVENTS).map((u) => u.slice(1));
const ts = new Date(Date.now() + 60_000).toISOString();
const entries: LogEntry[] = Array.from({ length: EVENTS }, (_, i) => ({
  key: `m:${eventIds[i]}`,
  type: 'metric',
  unitId: unitOf[i],
  ref: METRICS[i % 3],
  variant: null,
  value: i % 3 === 1 ? (i % 7) + 1 : i % 2,
  props: null,
  ts,
}));
const batches = Array.from({ length: Math.ceil(EVENTS / BATCH) }, (_, b) => entries.slice(b * BATCH, (b + 1) * BATCH));

let dbCount = 0;
async function freshDb(): Promise<{ url: string; pools: pg.Pool[]; sql: (i: number) => Sql; close: () => Promise<void> }> {
  const name = `bench_${process.pid}_${dbCount++}`;
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(cluster.url);
  url.pathname = `/${name}`;
  const pools = Array.from({ length: CLIENTS + 1 }, () => createPgPool(url.toString(), { max: 2 }));
  const sqls = pools.map((p) => new PgSql(p));
  await migratePg(sqls[0]);
  return { url: url.toString(), pools, sql: (i) => sqls[i], close: async () => void (await Promise.all(pools.map((p) => p.end()))) };
}

/** Every unit exposed (half per arm) and folded, as bench/ingest.ts sets up SQLite. */
async function exposedDb() {
  const db = await freshDb();
  const sql = db.sql(0);
  for (const [table, rows] of catalog)
    for (const row of rows) {
      const cols = Object.keys(row);
      await sql.run(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, Object.values(row));
    }
  const log = new PgEventLog(sql);
  const now = new Date().toISOString();
  for (let u = 0; u < UNITS; u += BATCH)
    await log.append(
      units.slice(u, u + BATCH).map((unitId, k) => ({
        key: `x:x${u + k}`,
        type: 'exposure' as const,
        unitId,
        ref: experimentId,
        variant: variants[(u + k) % 2],
        value: null,
        props: null,
        ts: now,
      })),
      now,
    );
  await new PgFold(sql).catchUp();
  return db;
}

/** Runs `work(batch, client)` over the batches from CLIENTS clients at once (client c takes every CLIENTS-th batch). */
async function spread(work: (batch: LogEntry[], client: number) => Promise<void>): Promise<void> {
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let b = c; b < batches.length; b += CLIENTS) await work(batches[b], c);
    }),
  );
}

/** The fold loop beside the appends, turn after turn as a replica's would, until `acking` turns false; then it catches up. */
async function foldBeside(fold: PgFold, acking: () => boolean): Promise<void> {
  while (acking()) {
    const t = await fold.turn(50_000);
    if (!t.folded) await new Promise((r) => setTimeout(r, 20));
  }
  await fold.catchUp();
}

async function sealabRound(): Promise<{ perSec: number; ackPerSec: number; maxBacklog: number; readMs: number }> {
  const db = await exposedDb();
  const logs = Array.from({ length: CLIENTS }, (_, c) => new PgEventLog(db.sql(c)));
  const fold = new PgFold(db.sql(CLIENTS));
  let acking = true;
  let maxBacklog = 0;
  const started = performance.now();
  const folder = foldBeside(fold, () => acking);
  let sampled = 0;
  await spread(async (batch, c) => {
    const r = await logs[c].append(batch, new Date().toISOString(), { ctx, requestId: `b${batch[0].key}`, after: { received: batch.length } });
    if (r.appended.length !== batch.length) throw new Error('a fresh batch was taken for a duplicate');
    if (c === 0 && ++sampled % 20 === 0) maxBacklog = Math.max(maxBacklog, (await logs[0].backlog()).pending);
  });
  const ackSecs = (performance.now() - started) / 1000;
  acking = false;
  await folder;
  const secs = (performance.now() - started) / 1000;
  if ((await logs[0].backlog()).pending) throw new Error('the fold did not catch up');
  const reads = new EventReads(db.sql(0));
  const arms = await reads.aggregates(experimentId, 'minutes-played');
  if (arms.reduce((s, a) => s + a.n, 0) !== UNITS) throw new Error(`expected ${UNITS} units in the aggregates`);
  const readMs = await timeReads(db.sql(0));
  await db.close();
  return { perSec: EVENTS / secs, ackPerSec: EVENTS / ackSecs, maxBacklog, readMs };
}

/**
 * The same events as ingest requests through PgIngest on CLIENTS replicas (one pool each; validation reads and the
 * append transaction), each replica's PgFoldRunner giving back-pressure at `backlogMax` (Infinity: none), the fold loop
 * on its own pool beside them. The backlog is sampled (counted) after every 5th answer of the first client.
 */
async function ingestRound(backlogMax: number): Promise<{ perSec: number; ackPerSec: number; maxBacklog: number; foldedByRequests: number }> {
  const db = await exposedDb();
  const logger = createLogger('silent');
  const replicas = Array.from({ length: CLIENTS }, (_, c) => {
    const log = new PgEventLog(db.sql(c));
    const runner = new PgFoldRunner(new PgFold(db.sql(c)), log, wallClock, logger, undefined, { backlogMax, backlogWaitMs: 60_000 });
    return { runner, ingest: new PgIngest(configRepos(db.sql(c)), log, runner) };
  });
  const fold = new PgFold(db.sql(CLIENTS));
  let acking = true;
  let maxBacklog = 0;
  const started = performance.now();
  const folder = foldBeside(fold, () => acking);
  let sampled = 0;
  await spread(async (batch, c) => {
    const events = batch.map((e) => ({ id: e.key.slice(2), type: 'metric', unitId: e.unitId, metricId: e.ref, value: e.value }));
    const r = await replicas[c].ingest.ingest(events, new Date().toISOString(), { ...ctx, requestId: `i${batch[0].key}` }, () => undefined);
    if (r.accepted !== batch.length) throw new Error(`a batch was not accepted whole: ${JSON.stringify(r.rejected.slice(0, 3))}`);
    if (c === 0 && ++sampled % 5 === 0) maxBacklog = Math.max(maxBacklog, (await new PgEventLog(db.sql(0)).backlog()).pending);
  });
  const ackSecs = (performance.now() - started) / 1000;
  acking = false;
  await folder;
  const secs = (performance.now() - started) / 1000;
  if ((await new PgEventLog(db.sql(0)).backlog()).pending) throw new Error('the fold did not catch up');
  const foldedByRequests = replicas.reduce((s, r) => s + r.runner.foldedHere, 0);
  await db.close();
  return { perSec: EVENTS / secs, ackPerSec: EVENTS / ackSecs, maxBacklog, foldedByRequests };
}

/** The halves apart, same rows: every batch acknowledged with no fold running, then PgFold alone on that backlog. */
async function splitRound(): Promise<{ ackPerSec: number; foldPerSec: number }> {
  const db = await exposedDb();
  const logs = Array.from({ length: CLIENTS }, (_, c) => new PgEventLog(db.sql(c)));
  let started = performance.now();
  await spread(async (batch, c) => void (await logs[c].append(batch, new Date().toISOString(), { ctx, requestId: `b${batch[0].key}`, after: {} })));
  const ackPerSec = EVENTS / ((performance.now() - started) / 1000);
  started = performance.now();
  const folded = await new PgFold(db.sql(CLIENTS)).catchUp();
  const foldPerSec = folded / ((performance.now() - started) / 1000);
  await db.close();
  return { ackPerSec, foldPerSec };
}

/** The reads of one get_metrics call (three metrics: aggregates, daily history; exposure counts, freshness, backlog): median of 30, ms. */
async function timeReads(sql: Sql): Promise<number> {
  const reads = new EventReads(sql);
  const log = new PgEventLog(sql);
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    for (const m of METRICS) {
      await reads.aggregates(experimentId, m);
      await reads.dailyAggregates(experimentId, m);
    }
    await reads.exposureCounts(experimentId);
    await reads.lastUpdatedAt(experimentId);
    await log.backlog();
    times.push(performance.now() - t);
  }
  return median(times);
}

const RAW_TABLE = `CREATE TABLE raw_events (id text COLLATE "C" PRIMARY KEY, type text NOT NULL, unit_id text NOT NULL, ref text NOT NULL,
  variant text, value double precision, props text, ts text NOT NULL, received_at text NOT NULL)`;

/** The same rows raw, from CLIENTS clients: multi-row VALUES, or INSERT … SELECT FROM unnest (COPY's stand-in). */
async function rawRound(form: 'values' | 'unnest'): Promise<number> {
  const db = await freshDb();
  await db.sql(0).exec(RAW_TABLE);
  const started = performance.now();
  await spread(async (batch, c) => {
    const now = new Date().toISOString();
    if (form === 'values')
      await db.sql(c).run(
        `INSERT INTO raw_events VALUES ${batch.map(() => '(?,?,?,?,?,?,?,?,?)').join(',')} ON CONFLICT DO NOTHING`,
        batch.flatMap((e) => [e.key, e.type, e.unitId, e.ref, e.variant, e.value, e.props, e.ts, now]),
      );
    else {
      const col = (f: (e: LogEntry) => string | number | null) => pgArray(batch.map(f));
      await db
        .sql(c)
        .run(
          'INSERT INTO raw_events SELECT u.*, ? FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::float8[], ?::text[], ?::text[]) AS u ON CONFLICT DO NOTHING',
          [
            now,
            col((e) => e.key),
            col((e) => e.type),
            col((e) => e.unitId),
            col((e) => e.ref),
            col((e) => e.variant),
            col((e) => e.value),
            col((e) => e.props),
            col((e) => e.ts),
          ],
        );
    }
  });
  const secs = (performance.now() - started) / 1000;
  await db.close();
  return EVENTS / secs;
}

console.log(`pg-ingest bench · ${loadLine()} (the machine may be shared: read the load)`);
const sealab: number[] = [];
const acks: number[] = [];
const values: number[] = [];
const unnest: number[] = [];
const ratios: number[] = [];
const reads: number[] = [];
const ackAlone: number[] = [];
const foldAlone: number[] = [];
let maxBacklog = 0;
const gated = { perSec: [] as number[], ackPerSec: [] as number[], maxBacklog: 0, folded: [] as number[] };
const free = { perSec: [] as number[], ackPerSec: [] as number[], maxBacklog: 0 };
for (let r = 0; r < ROUNDS; r++) {
  const g = await ingestRound(BACKLOG_MAX);
  const f = await ingestRound(Number.POSITIVE_INFINITY);
  gated.perSec.push(g.perSec);
  gated.ackPerSec.push(g.ackPerSec);
  gated.maxBacklog = Math.max(gated.maxBacklog, g.maxBacklog);
  gated.folded.push(g.foldedByRequests);
  free.perSec.push(f.perSec);
  free.ackPerSec.push(f.ackPerSec);
  free.maxBacklog = Math.max(free.maxBacklog, f.maxBacklog);
  process.stderr.write(
    `round ${r + 1}/${ROUNDS}: PgIngest with back-pressure ${fmt(g.perSec)}/s sustained (backlog ≤ ${fmt(g.maxBacklog)} sampled), without ${fmt(f.perSec)}/s (backlog ≤ ${fmt(f.maxBacklog)}) · ${loadLine()}\n`,
  );
  const v = await rawRound('values');
  const u = await rawRound('unnest');
  const s = await sealabRound();
  const split = await splitRound();
  ackAlone.push(split.ackPerSec);
  foldAlone.push(split.foldPerSec);
  values.push(v);
  unnest.push(u);
  sealab.push(s.perSec);
  acks.push(s.ackPerSec);
  reads.push(s.readMs);
  maxBacklog = Math.max(maxBacklog, s.maxBacklog);
  ratios.push(s.perSec / Math.max(v, u));
  process.stderr.write(
    `round ${r + 1}/${ROUNDS}: raw VALUES ${fmt(v)}/s, raw unnest ${fmt(u)}/s, sealab ${fmt(s.perSec)}/s (${(100 * ratios[r]).toFixed(1)}% of the faster) · ${loadLine()}\n`,
  );
}
console.log(
  `${fmt(EVENTS)} metric events over ${fmt(UNITS)} exposed units (random unit and event ids), batches of ${BATCH}, ${CLIENTS} clients, ${ROUNDS} rounds`,
);
console.log(
  `  sealab, acknowledged and folded : ${fmt(median(sealab))} events/s (median; PgFold on its own pool beside the appends; backlog never above ${fmt(maxBacklog)} at a sample)`,
);
console.log(`  sealab, acknowledged only       : ${fmt(median(acks))} events/s (until the last append returned)`);
console.log(
  `  the halves apart               : acknowledging with no fold running ${fmt(median(ackAlone))} events/s; PgFold alone on that backlog ${fmt(median(foldAlone))} events/s`,
);
console.log(
  `  PgIngest, back-pressure ${fmt(BACKLOG_MAX)} : ${fmt(median(gated.perSec))} events/s sustained, ${fmt(median(gated.ackPerSec))} acknowledged; backlog never above ${fmt(gated.maxBacklog)} at a sample; requests folded ${fmt(median(gated.folded))} events (median)`,
);
console.log(
  `  PgIngest, no bound             : ${fmt(median(free.perSec))} events/s sustained, ${fmt(median(free.ackPerSec))} acknowledged; backlog never above ${fmt(free.maxBacklog)} at a sample`,
);
console.log(`  raw multi-row INSERT … VALUES   : ${fmt(median(values))} rows/s (event log's columns keyed by id, ON CONFLICT DO NOTHING)`);
console.log(`  raw INSERT … SELECT unnest(…)   : ${fmt(median(unnest))} rows/s (COPY's stand-in: no COPY client is installed)`);
console.log(`  ratio                           : ${(100 * median(ratios)).toFixed(1)}% of the faster raw form (median of per-round ratios)`);
console.log(
  `  get_metrics reads               : ${median(reads).toFixed(2)} ms (3 metrics: aggregates + daily, exposure counts, freshness, backlog; median of 30 × rounds)`,
);
console.log(`  ${loadLine()}`);
stop();
process.exit(0);
