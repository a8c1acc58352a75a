/**
 * Where a PgFold turn's time goes (ADR 0020, "A faster PostgreSQL fold"): the same setup as bench/pg-ingest.ts
 * (every unit exposed and folded, then `--events` metric events over random units appended), then the backlog
 * folded alone in turns of `--turn`, each phase timed (lock, read the entries, plan, load, definitions, compute, flush
 * per table) with the CPU time of this process and of the PostgreSQL backends. Prints the total per phase and events/s.
 * With the read-ahead (default) the `ahead …` phases run on the second connection while the turn flushes, so the
 * phases add up to more than the wall time; `--no-read-ahead` gives the plain split.
 *
 *   npx tsx bench/pg-fold-phases.ts [--events 100000] [--units 50000] [--turn 20000] [--no-read-ahead]
 */
import fs from 'node:fs';
import pg from 'pg';
import { startCluster } from '../test/helpers/postgres.js';
import { migratePg } from '../src/store/pg/migrate.js';
import { PgEventLog } from '../src/store/pg/pg-event-log.js';
import { PgFold } from '../src/store/pg/pg-fold.js';
import { createPgPool, PgSql } from '../src/store/sql/pg-sql.js';
import type { LogEntry } from '../src/store/event-log.js';
import { benchContainer } from './helpers.js';
import { arg, fmt, loadLine, unitIds } from './util.js';

const EVENTS = arg('events', 100_000);
const UNITS = arg('units', 50_000);
const TURN = arg('turn', 20_000);
const METRICS = ['stream-rate', 'minutes-played', 'crash-rate'];
const ctx = { actor: 'bench', interface: 'cli' as const, operation: 'bench', requestId: 'bench' };

const cluster = await startCluster();
process.on('exit', () => cluster.stop());
const { app, experimentId, dispose } = await benchContainer('pg-fold-phases');
const variants = (await app.experiments.get(experimentId)).variants.map((v) => v.key);
const catalog = ['surfaces', 'metrics', 'experiments'].map((t) => [t, app.deps.db.prepare(`SELECT * FROM ${t}`).all()] as const);
dispose();

const admin = new pg.Client({ connectionString: cluster.url });
await admin.connect();
await admin.query('CREATE DATABASE phases');
await admin.end();
const url = new URL(cluster.url);
url.pathname = '/phases';
const pool = createPgPool(url.toString(), { max: 2 });
const sql = new PgSql(pool);
await migratePg(sql);
for (const [table, rows] of catalog)
  for (const row of rows as Record<string, string | number | null>[]) {
    const cols = Object.keys(row);
    await sql.run(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, Object.values(row));
  }
const log = new PgEventLog(sql);
const units = unitIds(UNITS);
const now = new Date().toISOString();
for (let u = 0; u < UNITS; u += 1000)
  await log.append(
    units.slice(u, u + 1000).map((unitId, k) => ({
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
const eventIds = unitIds(EVENTS).map((u) => u.slice(1));
const ts = new Date(Date.now() + 60_000).toISOString();
const entries: LogEntry[] = eventIds.map((id, i) => ({
  key: `m:${id}`,
  type: 'metric',
  unitId: units[Math.floor(Math.random() * UNITS)],
  ref: METRICS[i % 3],
  variant: null,
  value: i % 3 === 1 ? (i % 7) + 1 : i % 2,
  props: null,
  ts,
}));
for (let b = 0; b < EVENTS; b += 1000) await log.append(entries.slice(b, b + 1000), new Date().toISOString(), { ctx, requestId: `b${b}`, after: {} });

const phases = new Map<string, number>();
const readAhead = !process.argv.includes('--no-read-ahead');
const fold = new PgFold(sql, { readAhead, onPhase: (p, ms) => phases.set(p, (phases.get(p) ?? 0) + ms) });
// Both pooled connections opened first, so the CPU of each backend is counted.
await Promise.all([sql.all('SELECT pg_sleep(0.05)'), sql.all('SELECT pg_sleep(0.05)')]);
const pgPids = (await sql.all<{ pid: number }>('SELECT pid FROM pg_stat_activity')).map((r) => r.pid);
const cpu0 = process.cpuUsage();
const pg0 = cpuTicks(pgPids);
const started = performance.now();
let turns = 0;
for (;;) {
  const t = await fold.turn(TURN);
  if (!t.folded) break;
  turns++;
}
const secs = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpu0);
const pgMs = pgCpuMs(pg0);
console.log(
  `pg-fold-phases · ${fmt(EVENTS)} metric events over ${fmt(UNITS)} exposed units, turns of ${fmt(TURN)} (${turns}), read-ahead ${readAhead ? 'on' : 'off'} · ${loadLine()}`,
);
console.log(`  folded alone: ${fmt(EVENTS / secs)} events/s (${(secs * 1000).toFixed(0)} ms)`);
console.log(`  CPU: node ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, PostgreSQL ${pgMs.toFixed(0)} ms (its processes alive at the start)`);
for (const [p, ms] of phases) console.log(`  ${p.padEnd(22)} ${ms.toFixed(0).padStart(7)} ms  ${((100 * ms) / (secs * 1000)).toFixed(1).padStart(5)}%`);
await pool.end();
process.exit(0);

/** CPU ticks (user + system) of each given process alive now, from /proc (Linux). */
function cpuTicks(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(pid, Number(f[11]) + Number(f[12]));
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU milliseconds used since `before` by the processes alive at both readings (ticks of 10 ms). */
function pgCpuMs(before: Map<number, number>): number {
  let ticks = 0;
  for (const [pid, t] of cpuTicks([...before.keys()])) ticks += t - before.get(pid)!;
  return ticks * 10;
}
