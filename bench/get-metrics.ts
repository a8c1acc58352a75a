/**
 * get_metrics cost against event volume: sealab reads per-arm sufficient statistics, so its time
 * should stay flat from 10^5 to 10^7 events; next to it, in the same run, the plain SQL GROUP BY
 * over a raw events table that a naive implementation would run (it grows linearly).
 *
 *   npx tsx bench/get-metrics.ts [--max 10000000] [--reps 30] [--rounds 3] [--consecutive]
 *
 * Rows are bulk-loaded with SQL (the ingest path has its own benchmark), then the aggregates are
 * built from them by the pipeline's rebuild — the same numbers ingest would have produced. Unit ids
 * are random (as production traffic's are) unless --consecutive. Each round times reps/rounds
 * get_metrics calls and one GROUP BY; the ratio is taken per round and its median printed. Each
 * size's database (up to ~1.4 GB) is removed as soon as it is measured, and on exit or Ctrl-C.
 */
import { arg, benchContainer, fmt, loadLine, median } from './helpers.js';

const MAX = arg('max', 10_000_000);
const REPS = arg('reps', 30);
const ROUNDS = arg('rounds', 3);
const CONSECUTIVE = process.argv.includes('--consecutive');
const sizes = [100_000, 1_000_000, 10_000_000].filter((n) => n <= MAX);

console.log(
  `get_metrics vs event count (median of ${REPS} calls; baseline median of ${ROUNDS}; ${CONSECUTIVE ? 'consecutive' : 'random'} unit ids); ${loadLine()}`,
);
console.log('  events       units     sealab get_metrics   raw SQL GROUP BY   ratio (median of per-round ratios)');
for (const events of sizes) {
  const units = Math.max(1000, events / 20);
  const { app, experimentId, dispose } = await benchContainer(`gm${events}`);
  const db = app.deps.db;
  const exp = await app.experiments.get(experimentId);
  const t0 = new Date(Date.now() - 86_400_000).toISOString();
  const t1 = new Date(Date.now() - 3_600_000).toISOString();
  db.transaction(() => {
    // Unit i's id: 'u' || i, or a random 128-bit id so rows land all over the unit indexes as real traffic does.
    db.exec('CREATE TEMP TABLE bench_units (i INTEGER PRIMARY KEY, id TEXT NOT NULL)');
    db.prepare(
      `WITH RECURSIVE u(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM u WHERE i + 1 < ?)
       INSERT INTO bench_units (i, id) SELECT i, ${CONSECUTIVE ? "'u' || i" : "'u' || lower(hex(randomblob(16)))"} FROM u`,
    ).run(units);
    db.prepare(
      `INSERT INTO exposures (experiment_id, unit_id, variant, first_exposed_at) SELECT ?, id, CASE i % 2 WHEN 0 THEN ? ELSE ? END, ? FROM bench_units`,
    ).run(experimentId, exp.variants[0].key, exp.variants[1].key, t0);
    db.prepare(
      `WITH RECURSIVE e(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM e WHERE i + 1 < ?)
       INSERT INTO metric_events (event_id, metric_id, unit_id, value, ts)
       SELECT 'm' || e.i, CASE e.i % 3 WHEN 0 THEN 'stream-rate' WHEN 1 THEN 'minutes-played' ELSE 'crash-rate' END, u.id, (e.i % 7) + 1, ?
       FROM e JOIN bench_units u ON u.i = e.i % ?`,
    ).run(events, t1, units);
    db.exec('DROP TABLE bench_units');
    app.deps.events.pipeline.rebuild(experimentId, new Date().toISOString());
  })();

  const ours: number[] = [];
  const baseline: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const round: number[] = [];
    for (let i = 0; i < Math.max(1, Math.round(REPS / ROUNDS)); i++) {
      const s = performance.now();
      await app.metrics.report(experimentId);
      round.push(performance.now() - s);
    }
    const s = performance.now();
    db.prepare(
      `SELECT variant, metric_id, COUNT(*), SUM(v), SUM(v * v) FROM (
         SELECT x.variant AS variant, m.metric_id AS metric_id, SUM(m.value) AS v
         FROM exposures x JOIN metric_events m ON m.unit_id = x.unit_id AND m.ts >= x.first_exposed_at
         WHERE x.experiment_id = ? GROUP BY x.unit_id, x.variant, m.metric_id
       ) GROUP BY variant, metric_id`,
    ).all(experimentId);
    baseline.push(performance.now() - s);
    ours.push(...round);
    ratios.push(baseline[r] / median(round));
  }
  const a = median(ours);
  const b = median(baseline);
  console.log(
    `  ${fmt(events).padStart(10)} ${fmt(units).padStart(9)}   ${a.toFixed(2).padStart(12)} ms   ${b.toFixed(0).padStart(12)} ms   ${median(ratios).toFixed(0)}×`,
  );
  dispose();
}
