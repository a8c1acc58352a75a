/**
 * Cost of the in-process SLO evaluator (issue 13): one sample() of the shipped SLO file over a
 * registry with serving traffic, one status() (every SLO, every window), and the ring's size after
 * 30 simulated days sampled every 10 s. Usage: npx tsx bench/slo-sample.ts [--samples N]
 */
import type { Counter, Histogram } from 'prom-client';
import { createContainer } from '../src/container.js';
import { arg, loadLine, median } from './util.js';

const samples = arg('samples', 2000);
const ms = (x: number) => x.toFixed(3);
let now = Date.parse('2026-01-01T00:00:00Z');
const app = await createContainer({ dbFile: ':memory:', clock: { now: () => new Date(now) } });
const registry = app.slo.registry!;
const requests = registry.getSingleMetric('sealab_serving_requests_total') as Counter<'route' | 'outcome'>;
const duration = registry.getSingleMetric('sealab_serving_duration_seconds') as Histogram<'route'>;
for (const route of ['assignment', 'layout', 'ofrep', 'ofrep_bulk']) {
  requests.inc({ route, outcome: 'ok' }, 1000);
  requests.inc({ route, outcome: 'server_error' }, 1);
  duration.observe({ route }, 0.0004);
}

const sampleMs: number[] = [];
const statusMs: number[] = [];
for (let i = 0; i < samples; i++) {
  now += 10_000;
  requests.inc({ route: 'assignment', outcome: 'ok' }, 100);
  let t = performance.now();
  await app.slo.sample();
  sampleMs.push(performance.now() - t);
  t = performance.now();
  app.slo.status();
  statusMs.push(performance.now() - t);
}
// Thirty days at one sample every 10 s: the ring downsamples, so its size stays bounded.
const month = 30 * 8640;
const started = performance.now();
for (let i = samples; i < month; i++) {
  now += 10_000;
  await app.slo.sample();
}
const ring = app.slo.status().samples;
console.log(`SLO evaluator, ${app.slo.file.slos.length} SLOs (policy/slo.json); ${loadLine()}`);
console.log(`sample():  median ${ms(median(sampleMs))} ms over ${samples} samples`);
console.log(`status():  median ${ms(median(statusMs))} ms (every SLO, 6 windows, alerts)`);
console.log(
  `ring after 30 days at 10 s: ${ring} samples kept of ${month} taken (${ms((performance.now() - started) / (month - samples))} ms per sample with compaction)`,
);
app.close();
