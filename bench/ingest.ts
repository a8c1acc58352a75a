/**
 * Sustained ingest (ADR 0018): events/s acknowledged AND folded into per-unit state, per-arm aggregates
 * and daily snapshots, with the backlog bounded (an ack past the bound folds before it answers; the clock
 * stops only once the log is caught up). Each round pairs it with a raw better-sqlite3 insert of the same
 * rows — the event log's columns, one table keyed by the event id, the same batches of 1,000, WAL,
 * synchronous=NORMAL and page cache as sealab's connection — and the figure is the median of the per-round
 * ratios. Unit ids and event ids are random UUIDs, units in random order (bench/util.ts; --consecutive for u0, u1, …
 * and m0, m1, …). Then the
 * same traffic over HTTP (POST /v1/events on a free port, the server's default logging, 2 clients), folded too.
 *
 * With --raw 1 the traffic is raw product events ({"type":"event"}, half without an id) and the three
 * metrics are computed from them (sources with a filter and a window).
 *
 *   npx tsx bench/ingest.ts [--events 300000] [--units 100000] [--rounds 3] [--raw 1] [--http-events 100000] [--consecutive] [--main-fold] [--split] [--thread-turn entries] [--gather entries]
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchContainer } from './helpers.js';
import { arg, fmt, loadLine, median, unitIds } from './util.js';
import { listenHttp } from '../src/server/http-listen.js';
import { MAIN_CACHE_KIB } from '../src/store/db.js';
import type { MetricSource } from '../src/domain/schemas.js';
import type { FoldOptions } from '../src/app/events/fold-runner.js';
import type { SqliteContainer } from '../src/container.js';

const EVENTS = arg('events', 300_000);
const UNITS = arg('units', 100_000);
const ROUNDS = arg('rounds', 3);
const HTTP_EVENTS = arg('http-events', 100_000);
const RAW = arg('raw', 0) === 1;
const MAIN_FOLD = process.argv.includes('--main-fold');
const SPLIT = process.argv.includes('--split');
/** The fold thread's largest turn in entries (default: the server's, FOLD_THREAD_TURN). */
const THREAD_TURN = arg('thread-turn', 0);
/** The fold thread's gathering size in entries (default: the server's, FOLD_THREAD_GATHER). */
const GATHER = arg('gather', 0);
const BATCH = 1000;
const METRICS = ['stream-rate', 'minutes-played', 'crash-rate'];
/** --raw: the sources the three metrics get, and the raw event each metric event becomes. */
const SOURCES: Record<string, MetricSource> = {
  'stream-rate': { event: 'stream_start', aggregate: 'any' },
  'minutes-played': { event: 'stream_end', aggregate: 'sum', windowHours: 168 },
  'crash-rate': { event: 'crash', where: { platform: ['ios', 'android'] }, aggregate: 'any' },
};

// Every temp directory this run makes is removed on exit, however it ends.
const dirs: string[] = [];
const cleanup = () => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    cleanup();
    process.exit(130);
  });

const units = unitIds(UNITS);
/** Each event's unit: a random one (random ids, random order), fixed for the run so every round sends the same rows. */
const unitOf = Array.from({ length: Math.max(EVENTS, HTTP_EVENTS) }, () => units[Math.floor(Math.random() * UNITS)]);
/**
 * Each event's id: random, as producers mint them (a UUID per event), so neither the log's id index nor the raw
 * table's key is written in order; --consecutive gives m0, m1, … (both sides then append at the end of their index).
 */
const eventIds = unitIds(Math.max(EVENTS, HTTP_EVENTS)).map((u, i) => (process.argv.includes('--consecutive') ? `${i}` : u.slice(1)));

function events(prefix: string, offset: number, count: number) {
  const t = new Date(Date.now() + 60_000).toISOString();
  return Array.from({ length: count }, (_, k) => {
    const i = offset + k;
    const metricId = METRICS[i % 3];
    const value = i % 3 === 1 ? (i % 7) + 1 : i % 2; // binary metrics take 0 or 1
    const unitId = unitOf[i];
    if (RAW)
      return {
        ...(i % 2 ? { id: `${prefix}r${eventIds[i]}` } : {}),
        type: 'event' as const,
        name: SOURCES[metricId].event,
        unitId,
        value,
        properties: { platform: 'ios' },
        ts: t,
      };
    return { id: `${prefix}m${eventIds[i]}`, type: 'metric' as const, unitId, metricId, value, ts: t };
  });
}

/** A container with every unit exposed (half per arm, by index) and, with --raw, the metrics' sources. */
async function exposed(label: string, fold: FoldOptions = {}, workingSet = false): Promise<{ app: SqliteContainer; dir: string }> {
  const { app, dir, experimentId } = await benchContainer(label, {
    fold: { ...fold, thread: { ...(THREAD_TURN ? { turn: THREAD_TURN } : {}), ...(GATHER ? { gather: GATHER } : {}), workingSet } },
  });
  dirs.push(dir);
  if (RAW) for (const id of METRICS) await app.deps.store.catalog.upsertMetric({ ...(await app.deps.store.catalog.metric(id))!, source: SOURCES[id] });
  const exp = await app.experiments.get(experimentId);
  for (let u = 0; u < UNITS; u += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, UNITS - u) }, (_, k) => ({
      id: `x${u + k}`,
      type: 'exposure' as const,
      unitId: units[u + k],
      experimentId,
      variant: exp.variants[(u + k) % 2].key,
    }));
    await app.events.ingest({ events: batch });
  }
  app.fold.catchUp();
  return { app, dir };
}

let peakRss = 0;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

async function sealabRound(): Promise<{ perSec: number; ackPerSec: number; maxBacklog: number; foldedHere: number }> {
  const { app } = await exposed('ingest');
  // As `sealab serve` runs it: the fold on its own thread (ADR 0018); --main-fold folds on this thread as before.
  if (!MAIN_FOLD) {
    app.fold.start();
    app.fold.waitReady(); // as in a server, the thread is up before traffic comes
  }
  const foldedBefore = app.fold.foldedHere; // setting up (every unit exposed) folded here, before the thread started
  let maxBacklog = 0;
  // Time spent folding on this thread (back-pressure, catch-up), so the ack's own rate can be printed beside the sustained one.
  let folding = 0;
  const turn = app.fold.turn.bind(app.fold);
  app.fold.turn = (limit?: number) => {
    const t = performance.now();
    const n = turn(limit);
    folding += performance.now() - t;
    return n;
  };
  const started = performance.now();
  let acking = 0;
  for (let i = 0; i < EVENTS; i += BATCH) {
    const t = performance.now();
    await app.events.ingest({ events: events('', i, Math.min(BATCH, EVENTS - i)) });
    acking += performance.now() - t;
    if (i % 20_000 === 0) {
      maxBacklog = Math.max(maxBacklog, app.fold.status().pending);
      sampleRss();
    }
  }
  app.fold.catchUp();
  const secs = (performance.now() - started) / 1000;
  if (app.fold.status().pending) throw new Error('the fold did not catch up');
  const foldedHere = app.fold.foldedHere - foldedBefore;
  app.fold.stop();
  app.close();
  // Acknowledged only: the time inside ingest calls minus what this thread spent folding (back-pressure on the main fold).
  // With the fold thread, an ack that waits for it under back-pressure counts that wait: the figure is then a floor.
  return { perSec: EVENTS / secs, ackPerSec: EVENTS / ((acking - folding) / 1000), maxBacklog, foldedHere };
}

/**
 * The two halves apart, same rows: acknowledging everything with the fold stopped (no back-pressure: the bound is
 * above the run), then the fold thread folding that backlog alone. Sustained throughput is at most the slower half.
 */
async function splitRound(workingSet = false): Promise<{ ackPerSec: number; foldPerSec: number }> {
  const { app } = await exposed('split', { backlogMax: EVENTS * 2 }, workingSet);
  let started = performance.now();
  for (let i = 0; i < EVENTS; i += BATCH) await app.events.ingest({ events: events('', i, Math.min(BATCH, EVENTS - i)) });
  const ackPerSec = EVENTS / ((performance.now() - started) / 1000);
  app.fold.start();
  app.fold.waitReady(); // booting the thread (about a second from the TypeScript sources) is not folding
  started = performance.now();
  app.fold.catchUp();
  const foldPerSec = EVENTS / ((performance.now() - started) / 1000);
  if (app.fold.status().pending) throw new Error('the fold did not catch up');
  app.fold.stop();
  app.close();
  return { ackPerSec, foldPerSec };
}

/**
 * The event log's columns in one table keyed by the event id, written as the ack writes them, at its best: a rowid
 * table with the id's unique index (the log's layout) and a WITHOUT ROWID table keyed by the id (one b-tree), each
 * measured, the faster one kept.
 */
function rawRound(): { perSec: number; layout: string } {
  const layouts = ['rowid', 'without rowid'].sort(() => Math.random() - 0.5);
  const runs = layouts.map((layout) => ({ layout, perSec: rawInsert(layout === 'without rowid') }));
  return runs.reduce((a, b) => (b.perSec > a.perSec ? b : a));
}

function rawInsert(withoutRowid: boolean): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealab-bench-raw-'));
  dirs.push(dir);
  const db = new Database(path.join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`cache_size = -${MAIN_CACHE_KIB}`); // sealab's main connection's page cache
  db.pragma('wal_autocheckpoint = 16384');
  db.exec(
    `CREATE TABLE raw_events (id TEXT PRIMARY KEY, type TEXT NOT NULL, unit_id TEXT NOT NULL, ref TEXT NOT NULL, variant TEXT, value REAL, props TEXT, ts TEXT NOT NULL, received_at TEXT NOT NULL)${withoutRowid ? ' WITHOUT ROWID' : ''}`,
  );
  const insert = db.prepare('INSERT OR IGNORE INTO raw_events VALUES (?,?,?,?,?,?,?,?,?)');
  const now = new Date().toISOString();
  const tx = db.transaction((rows: ReturnType<typeof events>) => {
    for (const r of rows)
      if (r.type === 'event')
        insert.run(`e:${r.id ?? `h:${r.unitId}${r.value}`}`, 'event', r.unitId, r.name, null, r.value, JSON.stringify(r.properties), r.ts, now);
      else insert.run(`m:${r.id}`, 'metric', r.unitId, r.metricId, null, r.value, null, r.ts, now);
  });
  const started = performance.now();
  for (let i = 0; i < EVENTS; i += BATCH) tx(events('', i, Math.min(BATCH, EVENTS - i)));
  const secs = (performance.now() - started) / 1000;
  db.close();
  return EVENTS / secs;
}

/** The same traffic over HTTP: 2 clients posting batches of 1,000 to a real socket; the clock stops once folded. */
async function httpRound(): Promise<{ perSec: number; maxBacklog: number }> {
  const { app } = await exposed('http');
  const server = await listenHttp(app, { host: '127.0.0.1', port: 0, maxBodyBytes: 4 * 1_048_576 });
  app.fold.start();
  const url = `http://127.0.0.1:${server.port}/v1/events`;
  let next = 0;
  let maxBacklog = 0;
  const client = async () => {
    for (let i = (next += BATCH) - BATCH; i < HTTP_EVENTS; i = (next += BATCH) - BATCH) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: events('h', i, Math.min(BATCH, HTTP_EVENTS - i)) }),
      });
      if (res.status !== 200) throw new Error(`POST /v1/events answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
      if (i % 20_000 === 0) maxBacklog = Math.max(maxBacklog, app.fold.status().pending);
    }
  };
  const started = performance.now();
  await Promise.all([client(), client()]);
  app.fold.catchUp();
  const secs = (performance.now() - started) / 1000;
  app.fold.stop();
  await server.close();
  app.close();
  return { perSec: HTTP_EVENTS / secs, maxBacklog };
}

console.log(`ingest bench · ${loadLine()} (the machine may be shared: read the load)`);
const sealab: number[] = [];
const acks: number[] = [];
const raw: number[] = [];
const ratios: number[] = [];
const layouts: string[] = [];
let maxBacklog = 0;
let foldedHere = 0;
const ackOnly: number[] = [];
const foldOnly: number[] = [];
/** --split: the fold thread alone through a turn's working set (EventFold workingSet), in the same round as the default path's. */
const foldBulk: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const best = rawRound();
  raw.push(best.perSec);
  layouts.push(best.layout);
  const s = await sealabRound();
  sealab.push(s.perSec);
  foldedHere += s.foldedHere;
  if (SPLIT) {
    // Both fold paths on the same rows in the same round, in random order (the machine is shared).
    const bulkFirst = Math.random() < 0.5;
    const first = await splitRound(bulkFirst);
    const second = await splitRound(!bulkFirst);
    const [bulk, direct] = bulkFirst ? [first, second] : [second, first];
    ackOnly.push(direct.ackPerSec);
    foldOnly.push(direct.foldPerSec);
    foldBulk.push(bulk.foldPerSec);
    process.stderr.write(`  split: fold thread alone, per-statement ${fmt(direct.foldPerSec)}/s, working set ${fmt(bulk.foldPerSec)}/s\n`);
  }
  acks.push(s.ackPerSec);
  maxBacklog = Math.max(maxBacklog, s.maxBacklog);
  ratios.push(sealab[r] / raw[r]);
  process.stderr.write(
    `round ${r + 1}/${ROUNDS}: raw ${fmt(raw[r])}/s (${best.layout}), sealab ${fmt(sealab[r])}/s (${(100 * ratios[r]).toFixed(1)}%) · ${loadLine()}\n`,
  );
}
const http = HTTP_EVENTS > 0 ? await httpRound() : undefined;
console.log(
  `${fmt(EVENTS)} ${RAW ? 'raw product' : 'metric'} events over ${fmt(UNITS)} exposed units (${process.argv.includes('--consecutive') ? 'consecutive' : 'random'} unit order), batches of ${BATCH}, ${ROUNDS} rounds`,
);
console.log(`  sealab, acknowledged and folded : ${fmt(median(sealab))} events/s (median; backlog never above ${fmt(maxBacklog)} at a sample)`);
console.log(
  `  fold                            : ${MAIN_FOLD ? 'on the main thread (--main-fold)' : `on its own thread, as sealab serve runs it (${fmt(foldedHere)} entries folded on the main thread)`}`,
);
console.log(`  sealab, acknowledged only        : ${fmt(median(acks))} events/s (time inside ingest calls, less folding on the main thread)`);
if (SPLIT)
  console.log(
    `  the halves apart (--split)      : acknowledging with the fold stopped ${fmt(median(ackOnly))} events/s; the fold thread alone on that backlog ${fmt(median(foldOnly))} events/s (per-statement path, the default; through a turn's working set ${fmt(median(foldBulk))} events/s, same rows, same rounds)`,
  );
console.log(
  `  raw better-sqlite3 insert       : ${fmt(median(raw))} rows/s (same rows and columns keyed by id, the faster of rowid + unique index and WITHOUT ROWID per round: ${layouts.join(', ')}; WAL, synchronous=NORMAL)`,
);
console.log(`  ratio                           : ${(100 * median(ratios)).toFixed(1)}% of raw (median of per-round ratios; target ≥ 50%)`);
if (http)
  console.log(
    `  over HTTP (2 clients, folded)   : ${fmt(http.perSec)} events/s (${fmt(HTTP_EVENTS)} events; backlog never above ${fmt(http.maxBacklog)} at a sample)`,
  );
console.log(`  peak RSS                        : ${(peakRss / 2 ** 20).toFixed(0)} MiB · ${loadLine()}`);
