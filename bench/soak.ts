/**
 * Does the server's memory level off? Starts `sealab serve` on the shipped defaults (a temp data
 * directory, a free port, default logging, no SEALAB_* variables), deploys the demo experiment, and
 * drives a mixed load for --minutes: MCP over streamable HTTP (a current SDK client and a 2025-era one
 * with a session; tools/list, resources/read, get_metrics, list_experiments; clients come and go, and
 * some leave without closing), assignment, layout, OFREP (single flag and bulk) and ingest of
 * exposures and metric events for random units. Samples the server's RSS from /proc/<pid>/status every
 * --sample seconds, prints the curve and the slope of each half (least squares, MB/min): it levels off
 * when the last half grows by less than --flat MB/min.
 *
 *   npx tsx bench/soak.ts [--minutes 10] [--sample 10] [--workers 6] [--flat 1] [--consecutive]
 *                         [--snapshots DIR]   (heap snapshots at the first and last sample, into DIR)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import ky from 'ky';
import { ensureExperiment } from '../src/cli/simulate.js';
import { benchTempDir, fmt, loadLine } from './helpers.js';
import { arg, unitIds } from './util.js';
import { type Counts, mcpWorker, servingWorker } from './soak-load.js';

const MINUTES = arg('minutes', 10);
const SAMPLE_S = arg('sample', 10);
const WORKERS = arg('workers', 6);
const FLAT = arg('flat', 1);
const snapIdx = process.argv.indexOf('--snapshots');
const SNAPSHOTS = snapIdx > 0 ? path.resolve(process.argv[snapIdx + 1]) : undefined;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = benchTempDir('soak');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SEALAB_')));
if (SNAPSHOTS) fs.mkdirSync(SNAPSHOTS, { recursive: true });
const server = spawn(
  process.execPath,
  [...(SNAPSHOTS ? ['--heapsnapshot-signal=SIGUSR2'] : []), path.join(root, 'bin/sealab.js'), 'serve', '--data-dir', path.join(dir, 'data'), '--port', '0'],
  { cwd: SNAPSHOTS ?? dir, env, stdio: ['ignore', 'ignore', 'pipe'] },
);
process.on('exit', () => server.kill('SIGKILL'));

// The server's log (stderr, JSON lines at info): its URL, and warnings or errors counted for the report.
const logLevels = { warn: 0, error: 0 };
const url = await new Promise<string>((resolve, reject) => {
  server.once('exit', (code) => reject(new Error(`sealab serve exited with ${code} before listening`)));
  readline.createInterface({ input: server.stderr! }).on('line', (line) => {
    let entry: { level?: number; msg?: string; url?: string } = {};
    try {
      entry = JSON.parse(line);
    } catch {
      process.stderr.write(`server: ${line}\n`);
      return;
    }
    if ((entry.level ?? 0) >= 50) logLevels.error++;
    else if ((entry.level ?? 0) >= 40) logLevels.warn++;
    if (entry.msg?.startsWith('sealab HTTP listening') && entry.url) resolve(entry.url);
  });
});

/** The server's resident memory from /proc (total, anonymous, file-backed), in MB. */
const memory = () => {
  const status = fs.readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
};

/** The SQLite files' size (database and WAL), in MB: the page cache (64 MiB per connection) fills as they grow. */
const dbMb = () =>
  fs
    .readdirSync(path.join(dir, 'data'))
    .filter((f) => f.startsWith('sealab.db'))
    .reduce((n, f) => n + fs.statSync(path.join(dir, 'data', f)).size, 0) /
  2 ** 20;

/** The V8 heap in use, from the server's own /metrics (prom-client's default metrics), in MB. */
const heapMb = async () => {
  const text = await fetch(`${url}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const m = /^nodejs_heap_size_used_bytes (\S+)/m.exec(text);
  return m ? Number(m[1]) / 2 ** 20 : Number.NaN;
};

const api = ky.create({ prefixUrl: `${url}/v1`, timeout: 15_000 });
const experiment = await ensureExperiment(api, { out: () => undefined });
console.log(`soak: sealab serve at ${url} (pid ${server.pid}, shipped defaults), ${MINUTES} min, ${WORKERS} serving workers + 1 MCP worker; ${loadLine()}`);
console.log(`  experiment ${experiment.key} (${experiment.id}) running on ${experiment.surfaceId}`);

const counts: Counts = { requests: 0, failures: 0, events: 0, mcp: 0, sessions: 0, abandoned: 0, byKind: {} };
const deadline = Date.now() + MINUTES * 60_000;
const running = () => Date.now() < deadline;
const pool = () => unitIds(10_000);
const loads = [
  ...Array.from({ length: WORKERS }, (_, i) => servingWorker(url, experiment, pool, counts, running, i)),
  mcpWorker(url, experiment, counts, running),
];

const samples: { t: number; rss: number; anon: number; heap: number; db: number; requests: number }[] = [];
const started = Date.now();
const mb = (x: number) => x.toFixed(1).padStart(6);
const sample = async () => {
  const heap = await heapMb();
  const m = memory();
  const s = { t: (Date.now() - started) / 1000, rss: m.rss, anon: m.anon, heap, db: dbMb(), requests: counts.requests };
  const prev = samples.at(-1);
  samples.push(s);
  const rate = prev ? (s.requests - prev.requests) / (s.t - prev.t) : 0;
  console.log(
    `  t=${s.t.toFixed(0).padStart(4)} s  rss ${mb(s.rss)} MB (anon ${mb(m.anon)}, file ${mb(m.file)})  heap used ${mb(heap)} MB  db ${mb(s.db)} MB  ${fmt(rate).padStart(6)} req/s  ${fmt(counts.events)} events  ${counts.mcp} MCP calls`,
  );
};
const snapshot = () => SNAPSHOTS && server.kill('SIGUSR2');
await sample();
snapshot();
const timer = setInterval(() => void sample(), SAMPLE_S * 1000);
await Promise.all(loads);
clearInterval(timer);
await sample();
snapshot();
if (SNAPSHOTS) await new Promise((r) => setTimeout(r, 15_000)); // the last snapshot is written synchronously by the server

/** Least-squares slope of RSS against time, MB per minute. */
const slope = (xs: typeof samples) => {
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const mt = xs.reduce((a, s) => a + s.t, 0) / n;
  const mr = xs.reduce((a, s) => a + s.rss, 0) / n;
  const num = xs.reduce((a, s) => a + (s.t - mt) * (s.rss - mr), 0);
  const den = xs.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  return (num / den) * 60;
};
const half = Math.floor(samples.length / 2);
const first = slope(samples.slice(0, half + 1));
const last = slope(samples.slice(half));
const heapSlope = slope(samples.slice(half).map((x) => ({ ...x, rss: x.heap })));
const flat = last < FLAT;
console.log(
  `rss ${samples[0].rss.toFixed(1)} → ${samples.at(-1)!.rss.toFixed(1)} MB (peak ${Math.max(...samples.map((s) => s.rss)).toFixed(1)}); ` +
    `slope first half ${first.toFixed(2)} MB/min, last half ${last.toFixed(2)} MB/min (V8 heap used: ${heapSlope.toFixed(2)} MB/min): ${flat ? 'levels off' : 'STILL GROWING'} (flat < ${FLAT} MB/min)`,
);
console.log(
  `load: ${fmt(counts.requests)} requests (${counts.failures} failed), ${fmt(counts.events)} events ingested, ${counts.mcp} MCP calls over ${counts.sessions} sessions (${counts.abandoned} abandoned without closing); ` +
    `server log: ${logLevels.warn} warn, ${logLevels.error} error lines; by kind ${JSON.stringify(counts.byKind)}; ${loadLine()}`,
);
// Native memory the V8 heap does not show: SQLite's page cache (cache_size 64 MiB per connection, src/store/db.ts)
// grows with the pages the database has touched until it is full, then stays.
console.log(
  `native (RSS anon − V8 heap used) ${(samples[0].anon - samples[0].heap).toFixed(1)} → ${(samples.at(-1)!.anon - samples.at(-1)!.heap).toFixed(1)} MB; ` +
    `database ${samples.at(-1)!.db.toFixed(1)} MB; SQLite's page cache holds up to 64 MiB of it per connection`,
);
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
if (!flat) process.exitCode = 1;
