/**
 * What orchestration diagnosis costs: one step-timing append (the saga pays it per step, on a
 * WAL file as in production), one tool-call record (the MCP wrapper pays it per call), and a
 * diagnose() over a window holding many operations (what diagnose_orchestration pays per read).
 *
 *   npx tsx bench/diagnosis.ts [--ops 10000] [--rounds 5]
 */
import { ToolCallLog } from '../src/ops/tool-calls.js';
import { arg, benchContainer, fmt, loadLine, median } from './helpers.js';

const OPS = arg('ops', 10_000);
const ROUNDS = arg('rounds', 5);
const STEPS = ['queued', 'backend.allocate', 'content.apply', 'backend.activate', 'commit'];

const { app, experimentId, dispose } = await benchContainer('diagnosis');
const ops = app.deployments.ops;
const at = app.deps.clock.now().toISOString();
const started = performance.now();
for (let i = 0; i < OPS; i++) {
  const id = `op_bench_${i}`;
  await ops.start({ id, kind: 'deploy', idempotencyKey: null, requestHash: id, experimentId, payload: {}, status: 'completed' }, at);
}
const seeded = performance.now() - started;

const appendUs: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = performance.now();
  for (let i = 0; i < OPS; i++) {
    const step = STEPS[i % STEPS.length]!;
    await ops.timings.record({
      opId: `op_bench_${i}`,
      step,
      phase: step === 'queued' ? 'queued' : step === 'commit' ? 'commit' : 'call',
      system: step.includes('.') ? step.split('.')[0]! : null,
      startedAt: at,
      durationMs: (i % 97) + 1,
      retries: 0,
      outcome: 'ok',
    });
  }
  appendUs.push(((performance.now() - t0) * 1000) / OPS);
}

const ring = new ToolCallLog();
const ringNs: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = performance.now();
  for (let i = 0; i < 1_000_000; i++) ring.record('get_metrics', 'ok', i % 50);
  ringNs.push(((performance.now() - t0) * 1e6) / 1_000_000);
}

const diagnoseMs: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = performance.now();
  await app.diagnose();
  diagnoseMs.push(performance.now() - t0);
}

console.log(loadLine());
console.log(`operations seeded: ${fmt(OPS)} in ${fmt(seeded)} ms; step rows: ${fmt(OPS * ROUNDS)}`);
console.log(`step-timing append (one INSERT, WAL file, autocommit): median ${median(appendUs).toFixed(1)} µs per step`);
console.log(`tool-call ring record: median ${median(ringNs).toFixed(0)} ns per call`);
console.log(`diagnose() over ${fmt(OPS)} operations / ${fmt(OPS * ROUNDS)} step rows: median ${fmt(median(diagnoseMs))} ms`);
dispose();
