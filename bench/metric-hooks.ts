/**
 * In-process cost of the request-path metric hooks, which the HTTP bench (ofrep-http.ts) cannot
 * isolate on a shared machine: recordFastOfrep (the OFREP fast path's four series), recordHttp (a
 * hono route's RED), and next to them in the same run the same four series written the way they were
 * before hot-series.ts, through prom-client's labels() children (label hash and bucket-key lookup per call).
 *
 *   npx tsx bench/metric-hooks.ts [--calls 200000] [--rounds 5]
 */
import { arg, loadLine, median } from './util.js';
import { createMetrics } from '../src/ops/metrics.js';
import { recordFastOfrep, recordHttp } from '../src/ops/metric-hooks.js';

const CALLS = arg('calls', 200_000);
const ROUNDS = arg('rounds', 5);
const m = createMetrics({ defaultMetrics: false });
const route = '/ofrep/v1/evaluate/flags/:key';
const prom = {
  requests: m.httpRequests.labels({ route, method: 'POST', code: '200' }),
  served: m.servingRequests.labels({ route: 'ofrep', outcome: 'ok' }),
  http: m.httpDuration.labels({ route, method: 'POST' }),
  serving: m.servingDuration.labels({ route: 'ofrep' }),
};

/** ns per call of `f`, given a start time a few µs old as the hooks see it. */
function time(f: (started: number) => void): number {
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) f(t0);
  return ((performance.now() - t0) * 1e6) / CALLS;
}

const cases: Record<string, (started: number) => void> = {
  'recordFastOfrep (hot children)': (started) => recordFastOfrep(m, 200, started),
  'recordHttp, a hono route': (started) => recordHttp(m, '/v1/surfaces/:id/assignment', 'GET', 200, started),
  'prom-client labels() children (before)': (started) => {
    const seconds = (performance.now() - started) / 1000;
    prom.requests.inc();
    prom.served.inc();
    prom.http.observe(seconds);
    prom.serving.observe(seconds);
  },
};
const results: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let r = 0; r < ROUNDS + 1; r++)
  for (const [name, f] of Object.entries(cases))
    if (r > 0) results[name].push(time(f));
    else time(f); // round 0 warms up
console.log(`metric hooks, ns per call (median of ${ROUNDS} rounds of ${CALLS.toLocaleString('en-US')} calls); ${loadLine()}`);
for (const [name, xs] of Object.entries(results))
  console.log(`  ${name.padEnd(40)} ${median(xs).toFixed(0).padStart(6)} ns   (rounds: ${xs.map((x) => x.toFixed(0)).join(', ')})`);
const hot = results['recordFastOfrep (hot children)'];
const before = results['prom-client labels() children (before)'];
console.log(`  recordFastOfrep / labels() children: ${median(hot.map((x, i) => x / before[i])).toFixed(2)}× the time (median of per-round ratios)`);
// The folded counts reach the exposition: a scrape shows every call.
const text = await m.registry.metrics();
const line = text.split('\n').find((l) => l.startsWith('sealab_serving_duration_seconds_count{route="ofrep"}'));
console.log(`  scrape after the run: ${line}`);
