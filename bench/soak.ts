/**
 * Does the server's memory level off? Starts `sealab serve` on the shipped defaults (a temp data
 * directory, a free port, default logging, no SEALAB_* variables), deploys the demo experiment, and
 * drives a mixed load for --minutes: MCP over streamable HTTP (a current SDK client and a 2025-era one
 * with a session; tools/list, resources/read, get_metrics, list_experiments; clients come and go, and
 * some crash: their connections drop without ending their session), assignment, layout, OFREP (single
 * flag and bulk) and ingest of exposures and metric events for random units. Every --sample seconds it prints the server's memory
 * (bench/soak-memory.ts: RSS split into anonymous, file-backed and shared from /proc; V8's heap used,
 * heap committed and external from the server's /metrics; the native rest; the SQLite files), then the
 * growth per minute of each part over the first and the last third of the run (least squares). The
 * verdict: it levels off when the last third's RSS grows by less than --flat MB/min (exit code 1 if not).
 *
 *   npx tsx bench/soak.ts [--minutes 10] [--sample 10] [--workers 6] [--flat 1] [--consecutive]
 *                         [--snapshots DIR]   (heap snapshots after a third of the run and at the end, into DIR;
 *                                              compare them with bench/soak-heap-diff.ts)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import ky from 'ky';
import { ensureExperiment } from '../src/cli/simulate.js';
import { benchTempDir, fmt, loadLine } from './helpers.js';
import { CURVE_HEADER, curveLine, type MemorySample, sampleMemory, slope } from './soak-memory.js';
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
const dataDir = path.join(dir, 'data');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SEALAB_')));
if (SNAPSHOTS) fs.mkdirSync(SNAPSHOTS, { recursive: true });
const server = spawn(
  process.execPath,
  [...(SNAPSHOTS ? ['--heapsnapshot-signal=SIGUSR2'] : []), path.join(root, 'bin/sealab.js'), 'serve', '--data-dir', dataDir, '--port', '0'],
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

const samples: MemorySample[] = [];
const started = Date.now();
console.log(`memory in MB (rss = anon + file + shm; native = anon − heap-total − external; db-map: SQLite files mapped in; brk: glibc's main arena)`);
console.log(CURVE_HEADER);
const sample = async () => {
  const s = await sampleMemory(server.pid!, url, dataDir, (Date.now() - started) / 1000, counts.requests);
  const prev = samples.at(-1);
  samples.push(s);
  console.log(curveLine(s, prev ? (s.requests - prev.requests) / (s.t - prev.t) : 0));
};
/** A heap snapshot (the server writes it synchronously into SNAPSHOTS, its working directory). */
const snapshot = () => SNAPSHOTS && server.kill('SIGUSR2');
await sample();
const timer = setInterval(() => void sample(), SAMPLE_S * 1000);
// The first snapshot once the load has run a third of the time (warm-up allocations are not growth), the second at the end.
const firstSnapshot = setTimeout(snapshot, (MINUTES * 60_000) / 3);
await Promise.all(loads);
clearInterval(timer);
clearTimeout(firstSnapshot);
await sample();
snapshot();
if (SNAPSHOTS) await new Promise((r) => setTimeout(r, 20_000)); // the server writes the snapshot synchronously; give it time

// The verdict compares the growth per minute of the first third of the run with that of the last third (least squares over
// each third's samples): memory levels off when the last third grows by less than --flat MB/min.
const third = Math.floor(samples.length / 3);
const firstThird = samples.slice(0, third + 1);
const lastThird = samples.slice(samples.length - 1 - third);
const per = (y: (s: MemorySample) => number) => `${slope(firstThird, y).toFixed(2)} → ${slope(lastThird, y).toFixed(2)}`;
const last = slope(lastThird);
const flat = last < FLAT;
const a = samples[0];
const z = samples.at(-1)!;
console.log(
  `rss ${a.rss.toFixed(1)} → ${z.rss.toFixed(1)} MB (peak ${Math.max(...samples.map((s) => s.rss)).toFixed(1)}); growth per minute, first third → last third: ` +
    `rss ${per((s) => s.rss)}, heap used ${per((s) => s.heapUsed)}, heap total ${per((s) => s.heapTotal)}, external ${per((s) => s.external)}, ` +
    `native ${per((s) => s.native)}, file ${per((s) => s.file + s.shmem)} MB/min`,
);
// RSS is a sawtooth under load: V8 grows its committed heap to a multiple of the live heap before a major GC and gives
// it back later. The lowest heap-used sample of each third is the live heap's floor (just after a GC): a leak in the
// heap raises it, V8's sizing does not.
const floor = (xs: MemorySample[]) => Math.min(...xs.map((x) => x.heapUsed)).toFixed(1);
const middleThird = samples.slice(third, samples.length - 1 - third);
console.log(
  `V8 heap used, lowest sample per third (the live floor): ${floor(firstThird)} → ${floor(middleThird)} → ${floor(lastThird)} MB; ` +
    `native per third (mean): ${[firstThird, middleThird, lastThird].map((xs) => (xs.reduce((n, x) => n + x.native, 0) / xs.length).toFixed(1)).join(' → ')} MB`,
);
/** Requests per second over a stretch of samples: RSS follows V8's committed heap, which follows the allocation rate. */
const rate = (xs: MemorySample[]) => (xs.at(-1)!.requests - xs[0].requests) / (xs.at(-1)!.t - xs[0].t);
console.log(
  `verdict: ${flat ? 'levels off' : 'STILL GROWING'}: the last third's RSS grows ${last.toFixed(2)} MB/min (flat < ${FLAT} MB/min); ` +
    `load ${rate(firstThird).toFixed(0)} → ${rate(lastThird).toFixed(0)} req/s (first third → last third: a verdict compares like with like only if these are close)`,
);
console.log(
  `load: ${fmt(counts.requests)} requests (${counts.failures} failed), ${fmt(counts.events)} events ingested, ${counts.mcp} MCP calls over ${counts.sessions} sessions (${counts.abandoned} crashed without ending their session); ` +
    `server log: ${logLevels.warn} warn, ${logLevels.error} error lines; by kind ${JSON.stringify(counts.byKind)}; ${loadLine()}`,
);
console.log(
  `native ${a.native.toFixed(1)} → ${z.native.toFixed(1)} MB, V8 heap committed ${a.heapTotal.toFixed(1)} → ${z.heapTotal.toFixed(1)} MB, ` +
    `database ${z.db.toFixed(1)} MB + WAL ${z.wal.toFixed(1)} MB on disk (${z.dbMapped.toFixed(1)} MB of the SQLite files mapped in)`,
);
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
if (!flat) process.exitCode = 1;
