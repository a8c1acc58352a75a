/**
 * OFREP over HTTP on loopback: requests/s and p99 latency of sealab's single-flag evaluation
 * (`POST /ofrep/v1/evaluate/flags/{key}`, a different unit per request, exposures queued) next to a
 * bare hono + @hono/node-server endpoint returning a constant JSON body, measured in the same run
 * with autocannon. Each server runs in its own process so the load generator does not share it.
 * Both servers stay up; after a warm-up (--warmup seconds each, then until its CPU per request settles) they are loaded alternately, round after round (the order
 * flips each round), and the medians are compared, so a noisy neighbour hurts both alike.
 * sealab logs as `sealab serve` does (SEALAB_LOG_LEVEL, default info, to stderr: at info the
 * serving access lines are debug and not written); both servers listen on free ports. sealab also folds
 * the event log in background turns on its main thread, as `sealab serve` does, so the exposures it serves
 * are folded while it serves (`--no-fold`: left in the log, as this bench measured before issue 16's last pass).
 *
 *   npx tsx bench/ofrep-http.ts [--seconds 10] [--connections 50] [--rounds 3] [--warmup 2] [--aa] [--no-fold]
 *   SEALAB_LOG_LEVEL=debug npx tsx bench/ofrep-http.ts 2>/dev/null   # with an access line per request
 *
 * A third server, sealab with SEALAB_METRICS=off, is loaded in the same rounds: the metrics'
 * overhead is the median of the per-round ratios of sealab (metrics on, the default) to it. Metrics
 * on and off run back to back in every round, each first in every other round. Beside req/s each
 * round reports the server's CPU time per request (utime + stime of its process from /proc, all
 * threads; Linux only), which a busy neighbour disturbs far less than throughput on a shared
 * machine, and the load average when the round ended.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { arg, fmt, loadLine, median } from './util.js';

const SECONDS = arg('seconds', 10);
const CONNECTIONS = arg('connections', 50);
const ROUNDS = arg('rounds', 3);
const WARMUP = arg('warmup', 2);

/** cpuUs: the server's CPU time per request in µs (NaN where /proc is not there). */
type Figures = { rps: number; p99: number; errors: number; cpuUs: number };

type Server = { child: ChildProcess; port: number; level: string; fold: string };

const NO_FOLD = process.argv.includes('--no-fold');

async function start(mode: string, env: Record<string, string> = {}): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/ofrep-server.ts', mode, ...(NO_FOLD ? ['--no-fold'] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  return new Promise<Server>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const ready = /ready (\d+) (\S+)(?:.* fold=(\w+))?/.exec(d.toString());
      if (ready) resolve({ child, port: Number(ready[1]), level: ready[2], fold: ready[3] ?? '-' });
    });
    child.on('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
}

let unit = 0; // a fresh unit per request across all rounds, so every exposure is a new one

/** CPU time (user + system, every thread) a process has used, in µs, from /proc/<pid>/stat; NaN elsewhere. */
function cpuMicros(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // clock ticks (USER_HZ, 100 on Linux)
  } catch {
    return Number.NaN;
  }
}

async function load(server: { pid: number | undefined; port: number; key: string }, seconds: number): Promise<Figures> {
  const { port, key } = server;
  const cpuBefore = cpuMicros(server.pid);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: `/ofrep/v1/evaluate/flags/${key}`,
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ context: { targetingKey: `user-${unit++}` } }) }),
      },
    ],
  });
  const cpuUs = (cpuMicros(server.pid) - cpuBefore) / Math.max(1, result.requests.total);
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx, cpuUs };
}

/**
 * Loads a server for --warmup seconds, then in 1 s slices until its CPU per request is within 20% of the
 * slice before, three slices at least and eleven at most. A sealab server's first seconds cost up to ~10× its
 * steady state (the JIT warms up; before ofrep-server.ts primed it, its exposure worker also started and
 * compiled its modules then): a fixed 1 s warm-up left that in sealab's first round (23% and 45% of bare in
 * two runs).
 */
async function warm(server: { pid: number | undefined; port: number; key: string }): Promise<string> {
  const seen = [await load(server, WARMUP)];
  for (let i = 0; i < 10; i++) {
    const [before, last] = [seen.at(-2)?.cpuUs ?? Number.NaN, seen.at(-1)!.cpuUs];
    if (Number.isNaN(last) || (seen.length >= 3 && Math.abs(last - before) <= 0.2 * before)) break;
    seen.push(await load(server, 1));
  }
  return seen.map((f) => `${us(f.cpuUs)}/req`).join(', ');
}

// --aa: both sealab servers with metrics off, so the "overhead" printed is the bench's own bias and noise (an A/A test).
const AA = process.argv.includes('--aa');
const [bare, sealab, unmetered] = [
  await start('bare'),
  await start('sealab', { SEALAB_METRICS: AA ? 'off' : 'on' }),
  await start('sealab', { SEALAB_METRICS: 'off' }),
];
if (AA) console.log('A/A run (--aa): the "metrics on" server runs with SEALAB_METRICS=off too');
const servers = {
  bare: { pid: bare.child.pid, port: bare.port, key: 'bench' },
  sealab: { pid: sealab.child.pid, port: sealab.port, key: 'bench-ofrep' },
  unmetered: { pid: unmetered.child.pid, port: unmetered.port, key: 'bench-ofrep' },
};
const us = (x: number) => (Number.isNaN(x) ? 'n/a' : `${x.toFixed(1)} µs`);
console.log(`sealab log level: ${sealab.level} (as \`sealab serve\`: SEALAB_LOG_LEVEL, default info); event-log fold ${sealab.fold} (as \`sealab serve\`: on)`);
console.log(`machine at start: ${loadLine()}`);
const results: Record<keyof typeof servers, Figures[]> = { bare: [], sealab: [], unmetered: [] };
try {
  if (WARMUP > 0) for (const [name, s] of Object.entries(servers)) console.log(`warm-up ${name}: ${await warm(s)}`);
  for (let round = 0; round < ROUNDS; round++) {
    // Metrics on and off back to back, each first every other round; bare hono at either end.
    const order: (keyof typeof servers)[] = round % 2 ? ['bare', 'unmetered', 'sealab'] : ['sealab', 'unmetered', 'bare'];
    for (const name of order) results[name].push(await load(servers[name], SECONDS));
    const [b, s, u] = [results.bare[round], results.sealab[round], results.unmetered[round]];
    console.log(
      `round ${round + 1}: sealab ${fmt(s.rps)} req/s (p99 ${s.p99} ms, cpu ${us(s.cpuUs)}/req), metrics off ${fmt(u.rps)} req/s (p99 ${u.p99} ms, cpu ${us(u.cpuUs)}/req), bare ${fmt(b.rps)} req/s (p99 ${b.p99} ms, cpu ${us(b.cpuUs)}/req), ${((100 * s.rps) / b.rps).toFixed(1)}% of bare, ${((100 * s.rps) / u.rps).toFixed(1)}% of metrics off, load average ${loadavg()[0].toFixed(2)}`,
    );
  }
} finally {
  for (const server of [bare, sealab, unmetered]) server.child.kill();
}

const summary = (xs: Figures[]) => ({
  rps: median(xs.map((x) => x.rps)),
  p99: median(xs.map((x) => x.p99)),
  errors: xs.reduce((n, x) => n + x.errors, 0),
  min: Math.min(...xs.map((x) => x.rps)),
  max: Math.max(...xs.map((x) => x.rps)),
  cpuUs: median(xs.map((x) => x.cpuUs)),
});
const [s, b, u] = [summary(results.sealab), summary(results.bare), summary(results.unmetered)];
console.log(
  `OFREP single-flag evaluation over loopback HTTP, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS} s each, medians, sealab logging at ${sealab.level}`,
);
console.log(
  `  sealab /ofrep/v1/evaluate/flags/{key} : ${fmt(s.rps)} req/s (range ${fmt(s.min)}–${fmt(s.max)}), p99 ${s.p99} ms, cpu ${us(s.cpuUs)}/req, errors ${s.errors}`,
);
console.log(
  `  same, SEALAB_METRICS=off              : ${fmt(u.rps)} req/s (range ${fmt(u.min)}–${fmt(u.max)}), p99 ${u.p99} ms, cpu ${us(u.cpuUs)}/req, errors ${u.errors}`,
);
console.log(
  `  bare hono constant JSON               : ${fmt(b.rps)} req/s (range ${fmt(b.min)}–${fmt(b.max)}), p99 ${b.p99} ms, cpu ${us(b.cpuUs)}/req, errors ${b.errors}`,
);
const paired = median(results.sealab.map((x, i) => x.rps / results.bare[i].rps));
console.log(
  `  ratio                                 : ${((100 * s.rps) / b.rps).toFixed(1)}% of bare (median of per-round ratios ${(100 * paired).toFixed(1)}%; target ≥ 80%)`,
);
const cpuRatio = median(results.sealab.map((x, i) => x.cpuUs / results.bare[i].cpuUs));
if (!Number.isNaN(cpuRatio))
  console.log(
    `  CPU per request                       : sealab ${us(s.cpuUs)} vs bare ${us(b.cpuUs)}, ${cpuRatio.toFixed(2)}× (median of per-round ratios; all threads, less disturbed by a busy neighbour than req/s)`,
  );
const p99Ratio = median(results.sealab.map((x, i) => x.p99 / Math.max(1, results.bare[i].p99)));
console.log(`  p99 ratio                             : sealab p99 ${p99Ratio.toFixed(2)}× bare's (median of per-round ratios; target ≤ 2×)`);
const metered = median(results.sealab.map((x, i) => x.rps / results.unmetered[i].rps));
console.log(
  `  metrics overhead                      : metrics on at ${(100 * metered).toFixed(1)}% of metrics off (median of per-round ratios; overhead ${(100 * (1 - metered)).toFixed(1)}%, target ≤ 5%)`,
);
const cpu = median(results.sealab.map((x, i) => x.cpuUs / results.unmetered[i].cpuUs));
if (!Number.isNaN(cpu))
  console.log(
    `  metrics CPU cost                      : ${(100 * (cpu - 1)).toFixed(1)}% more server CPU per request with metrics on (median of per-round ratios ${cpu.toFixed(3)})`,
  );
console.log(`  machine at the end                    : ${loadLine()}`);
