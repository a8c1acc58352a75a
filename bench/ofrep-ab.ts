/**
 * Metrics on against metrics off for OFREP, one fresh sealab server at a time: each measurement
 * spawns a server (bench/ofrep-server.ts), warms it up, loads it with a fixed number of
 * evaluations and reads the CPU time its process used (/proc, Linux only), then stops it. On and off
 * alternate, and which goes first flips every pair. ofrep-http.ts keeps its servers for the whole
 * run, and there an A/A run (--aa) showed one server slot steadily ~10% dearer than the other;
 * fresh processes leave no slot to be lucky in.
 *
 *   npx tsx bench/ofrep-ab.ts [--pairs 4] [--requests 60000] [--warmup 20000] [--connections 50]
 */
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { arg, fmt, median } from './util.js';

const PAIRS = arg('pairs', 4);
const REQUESTS = arg('requests', 60_000);
const WARMUP = arg('warmup', 20_000);
const CONNECTIONS = arg('connections', 50);

const cpuMicros = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime + stime in clock ticks (USER_HZ 100)
};

let unit = 0;
const load = (port: number, amount: number) =>
  autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    amount,
    requests: [
      {
        method: 'POST',
        path: '/ofrep/v1/evaluate/flags/bench-ofrep',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ context: { targetingKey: `user-${unit++}` } }) }),
      },
    ],
  });

async function measure(metrics: 'on' | 'off'): Promise<{ rps: number; cpuUs: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/ofrep-server.ts', 'sealab'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, SEALAB_METRICS: metrics },
  });
  const exited = new Promise((r) => child.on('exit', r));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const ready = /ready (\d+)/.exec(d.toString());
        if (ready) resolve(Number(ready[1]));
      });
      child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    await load(port, WARMUP);
    const before = cpuMicros(child.pid!);
    const started = performance.now();
    const r = await load(port, REQUESTS);
    const seconds = (performance.now() - started) / 1000;
    if (r.errors + r.non2xx) throw new Error(`${r.errors + r.non2xx} failed requests`);
    // autocannon's requests.average and duration move in whole seconds, coarse for a fixed count: timed here instead.
    return { rps: r.requests.total / seconds, cpuUs: (cpuMicros(child.pid!) - before) / r.requests.total };
  } finally {
    child.kill();
    await exited;
  }
}

const ratios = { rps: [] as number[], cpu: [] as number[] };
console.log(
  `OFREP metrics on vs off, fresh server per measurement: ${PAIRS} pairs of ${fmt(REQUESTS)} evaluations after ${fmt(WARMUP)} warm-up, ${CONNECTIONS} connections`,
);
for (let pair = 0; pair < PAIRS; pair++) {
  const order: ('on' | 'off')[] = pair % 2 ? ['off', 'on'] : ['on', 'off'];
  const got: Record<string, { rps: number; cpuUs: number }> = {};
  for (const m of order) got[m] = await measure(m);
  ratios.rps.push(got.on.rps / got.off.rps);
  ratios.cpu.push(got.on.cpuUs / got.off.cpuUs);
  console.log(
    `pair ${pair + 1} (${order.join(' then ')}): on ${fmt(got.on.rps)} req/s, ${got.on.cpuUs.toFixed(1)} µs CPU/req; off ${fmt(got.off.rps)} req/s, ${got.off.cpuUs.toFixed(1)} µs CPU/req; load average ${loadavg()[0].toFixed(2)}`,
  );
}
const rps = median(ratios.rps);
const cpu = median(ratios.cpu);
console.log(`  throughput: metrics on at ${(100 * rps).toFixed(1)}% of metrics off (median of per-pair ratios; target ≥ 95%)`);
console.log(`  CPU per request: metrics on at ${(100 * cpu).toFixed(1)}% of metrics off (median of per-pair ratios)`);
