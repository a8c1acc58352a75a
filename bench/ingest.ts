/**
 * Ingest throughput: events/s through the real ingest path (zod validation, dedupe by id, the
 * metric pipeline's per-unit state and per-arm aggregates, audit row; batches of 1,000 in one WAL
 * transaction each), next to a raw better-sqlite3 insert of the same rows into a bare table in
 * the same run. Also the peak resident set while ingesting.
 *
 * With --raw 1 the same traffic arrives as raw product events ({"type":"event"}, half of them without
 * an id, so identified by a content hash) and the three metrics are computed from them (sources with a
 * filter and a window), as a team onboarding its own product sends it.
 *
 *   npx tsx bench/ingest.ts [--events 1000000] [--units 100000] [--rounds 3] [--raw 1]
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { arg, benchContainer, fmt, median } from './helpers.js';
import type { MetricSource } from '../src/domain/schemas.js';

const EVENTS = arg('events', 1_000_000);
const UNITS = arg('units', 100_000);
const ROUNDS = arg('rounds', 3);
const RAW = arg('raw', 0) === 1;
const BATCH = 1000;
const METRICS = ['stream-rate', 'minutes-played', 'crash-rate'];
/** --raw: the sources the three metrics get, and the raw event each metric event becomes. */
const SOURCES: Record<string, MetricSource> = {
  'stream-rate': { event: 'stream_start', aggregate: 'any' },
  'minutes-played': { event: 'stream_end', aggregate: 'sum', windowHours: 168 },
  'crash-rate': { event: 'crash', where: { platform: ['ios', 'android'] }, aggregate: 'any' },
};

function events(offset: number, count: number) {
  const t = new Date(Date.now() + 60_000).toISOString();
  return Array.from({ length: count }, (_, k) => {
    const i = offset + k;
    const metricId = METRICS[i % 3];
    const value = i % 3 === 1 ? (i % 7) + 1 : i % 2; // binary metrics take 0 or 1
    if (RAW)
      return {
        ...(i % 2 ? { id: `r${i}` } : {}),
        type: 'event' as const,
        name: SOURCES[metricId].event,
        unitId: `u${i % UNITS}`,
        value,
        properties: { platform: 'ios' },
        ts: t,
      };
    return { id: `m${i}`, type: 'metric' as const, unitId: `u${i % UNITS}`, metricId, value, timestamp: t };
  });
}

let peakRss = 0;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

function sealabRound(): { perSec: number } {
  const { app, experimentId } = benchContainer('ingest');
  // Before the first exposure, so the pipeline reads the definitions with their sources.
  if (RAW) for (const id of METRICS) app.deps.catalog.upsertMetric({ ...app.deps.catalog.metric(id)!, source: SOURCES[id] });
  // Expose every unit first (through the assignment path the services use is slower to drive; ingest exposures directly).
  const exp = app.experiments.get(experimentId);
  for (let u = 0; u < UNITS; u += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, UNITS - u) }, (_, k) => ({
      id: `x${u + k}`,
      type: 'exposure' as const,
      unitId: `u${u + k}`,
      experimentId,
      variant: exp.variants[(u + k) % 2].key,
    }));
    app.events.ingest({ events: batch });
  }
  const started = performance.now();
  for (let i = 0; i < EVENTS; i += BATCH) {
    app.events.ingest({ events: events(i, Math.min(BATCH, EVENTS - i)) });
    if (i % 100_000 === 0) sampleRss();
  }
  const secs = (performance.now() - started) / 1000;
  app.close();
  return { perSec: EVENTS / secs };
}

function rawRound(): { perSec: number } {
  const { dir } = benchContainer('raw');
  const db = new Database(path.join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE raw_events (id TEXT PRIMARY KEY, metric_id TEXT, unit_id TEXT, value REAL, ts TEXT)');
  const insert = db.prepare('INSERT INTO raw_events VALUES (?,?,?,?,?)');
  const tx = db.transaction((rows: ReturnType<typeof events>) => {
    for (const r of rows) insert.run(r.id ?? null, 'metricId' in r ? r.metricId : r.name, r.unitId, r.value, 'timestamp' in r ? r.timestamp : r.ts);
  });
  const started = performance.now();
  for (let i = 0; i < EVENTS; i += BATCH) tx(events(i, Math.min(BATCH, EVENTS - i)));
  const secs = (performance.now() - started) / 1000;
  db.close();
  return { perSec: EVENTS / secs };
}

const sealab: number[] = [];
const raw: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  raw.push(rawRound().perSec);
  sealab.push(sealabRound().perSec);
  process.stderr.write(`round ${r + 1}/${ROUNDS}: raw ${fmt(raw[r])}/s, sealab ${fmt(sealab[r])}/s\n`);
}
const s = median(sealab);
const b = median(raw);
console.log(
  `ingest of ${fmt(EVENTS)} ${RAW ? 'raw product' : 'metric'} events over ${fmt(UNITS)} exposed units, batches of ${BATCH}, median of ${ROUNDS} rounds`,
);
console.log(`  sealab ingest path : ${fmt(s)} events/s`);
console.log(`  raw better-sqlite3 : ${fmt(b)} rows/s (same rows, one bare table)`);
console.log(`  ratio              : ${((100 * s) / b).toFixed(1)}% of raw (target ≥ 50%)`);
console.log(`  peak RSS           : ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
