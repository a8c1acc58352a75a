/**
 * In-process assignment of a unit on a surface with 20 running experiments: sealab's compiled
 * bucket table (AssignmentIndex.view: bucket, experiments, variants and the resulting layout) next
 * to the GrowthBook JavaScript SDK (GrowthBookClient.evalFeature) over an equivalent configuration
 * in the same run: 20 experiments of 5% each, mutually exclusive (one namespace, disjoint ranges),
 * two variants 50/50, hashed on the unit id; GrowthBook evaluates the 20 features a surface needs.
 *
 *   npx tsx bench/assignment.ts [--units 200000] [--rounds 5]
 */
import { GrowthBookClient } from '@growthbook/growthbook';
import { AssignmentIndex } from '../src/app/serving/assignment-index.js';
import { mirrorOf } from '../src/app/serving/serving-sync.js';
import type { Experiment, Surface } from '../src/domain/schemas.js';
import { arg, fmt, median } from './util.js';

const UNITS = arg('units', 200_000);
const ROUNDS = arg('rounds', 5);
const N = 20;

const surface: Surface = {
  id: 'bench',
  name: 'Bench',
  description: '',
  platforms: ['ios', 'android', 'web', 'desktop'],
  dailyTraffic: 1_000_000,
  bucketCount: 10_000,
  salt: 'bench-salt',
  slots: [{ id: 'shelf', name: 'Shelf', position: 0, accepts: ['shelf'], defaultContentId: 'default' }],
};
const experiments: Experiment[] = Array.from({ length: N }, (_, i) => ({
  id: `exp_${i}`,
  key: `exp-${i}`,
  name: `Experiment ${i}`,
  hypothesis: 'h',
  owner: 'bench',
  surfaceId: 'bench',
  variants: [
    { key: 'control', isControl: true, weight: 50, overrides: [] },
    { key: 'treatment', isControl: false, weight: 50, overrides: [{ slotId: 'shelf', contentId: `content-${i}` }] },
  ],
  allocationPercent: 5,
  targeting: {},
  successMetrics: ['m'],
  guardrails: [],
  analysisPlan: { alpha: 0.05, power: 0.8, mde: 0.02, durationDays: 14, sequential: true, correction: 'holm', cuped: true, bayesian: false },
  id_: undefined,
  status: 'running',
  outcome: null,
  version: 2,
  buckets: [[i * 500, (i + 1) * 500]],
  createdAt: '',
  updatedAt: '',
  startedAt: '',
  endedAt: null,
})) as unknown as Experiment[];

const index = new AssignmentIndex();
index.compile([surface], mirrorOf(experiments));

const gb = new GrowthBookClient().initSync({
  payload: {
    features: Object.fromEntries(
      experiments.map((e, i) => [
        e.key,
        {
          defaultValue: 'default',
          rules: [
            {
              key: e.key,
              variations: ['default', `content-${i}`],
              weights: [0.5, 0.5],
              coverage: 1,
              hashAttribute: 'id',
              namespace: ['bench', i * 0.05, (i + 1) * 0.05],
              hashVersion: 2,
            },
          ],
        },
      ]),
    ),
  },
});

const units = Array.from({ length: UNITS }, (_, i) => `user-${i}`);

function runSealab(): number {
  let inAny = 0;
  const s = performance.now();
  for (const u of units) if (index.view('bench', u)!.assignments.length) inAny++;
  const secs = (performance.now() - s) / 1000;
  if (inAny < UNITS * 0.9) throw new Error(`sealab assigned only ${inAny} of ${UNITS}`);
  return UNITS / secs;
}

function runGrowthBook(): number {
  let inAny = 0;
  const s = performance.now();
  for (const u of units) {
    const ctx = { attributes: { id: u } };
    let hit = false;
    for (const e of experiments) if (gb.evalFeature(e.key, ctx).source === 'experiment') hit = true;
    if (hit) inAny++;
  }
  const secs = (performance.now() - s) / 1000;
  if (inAny < UNITS * 0.9) throw new Error(`GrowthBook assigned only ${inAny} of ${UNITS}`);
  return UNITS / secs;
}

runSealab();
runGrowthBook(); // warm up both
const ours: number[] = [];
const theirs: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  ours.push(runSealab());
  theirs.push(runGrowthBook());
}
const a = median(ours);
const b = median(theirs);
console.log(`assignment of one unit on a surface with ${N} running experiments (median of ${ROUNDS} rounds × ${fmt(UNITS)} units)`);
console.log(`  sealab AssignmentIndex.view      : ${fmt(a)} units/s`);
console.log(`  GrowthBookClient.evalFeature ×${N} : ${fmt(b)} units/s`);
console.log(`  ratio                            : ${(a / b).toFixed(1)}× (target ≥ 30×)`);
