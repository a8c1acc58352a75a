import { describe, expect, it } from 'vitest';
import { analyzeExperiment, type AnalysisInput } from '../../src/domain/analysis/analyze-experiment.js';
import type { ArmStats } from '../../src/domain/analysis/compare-arms.js';
import { proportionTest, welchTest } from '../../src/domain/stats/index.js';
import { ExperimentConfigSchema } from '../../src/domain/schemas.js';
import { DEMO_METRICS } from '../helpers/demo-catalog.js';
import { demoConfig } from '../helpers/app.js';

// Exact sufficient statistics (no covariate, so no CUPED): a mean arm with the given mean and sd, a binary arm with k of n.
const meanArm = (n: number, mean: number, sd: number): ArmStats => ({
  n,
  sumX: n * mean,
  sumX2: (n - 1) * sd * sd + n * mean * mean,
  sumY: 0,
  sumY2: 0,
  sumXY: 0,
});
const binaryArm = (n: number, k: number): ArmStats => ({ n, sumX: k, sumX2: k, sumY: 0, sumY2: 0, sumXY: 0 });
// minutes-played +0.651 on sd 30, 20 000 per arm: z ≈ 2.17, p ≈ 0.03 (significant alone, not at α/2);
// stream-rate 30% → 33%: p ≈ 1e-10.
const stats = {
  'minutes-played': { control: meanArm(20_000, 42, 30), focus: meanArm(20_000, 42.651, 30) },
  'stream-rate': { control: binaryArm(20_000, 6000), focus: binaryArm(20_000, 6600) },
};

function input(plan: Record<string, unknown>): AnalysisInput {
  const config = ExperimentConfigSchema.parse(
    demoConfig({
      successMetrics: ['minutes-played', 'stream-rate'],
      guardrails: [],
      analysisPlan: { alpha: 0.05, power: 0.8, mde: 0.02, durationDays: 14, ...plan },
    }),
  );
  const now = new Date('2026-11-26T00:00:00Z');
  return {
    experiment: { ...config, status: 'running', startedAt: new Date(now.getTime() - 14 * 86_400_000).toISOString() },
    metrics: new Map(DEMO_METRICS.map((m) => [m.id, m])),
    stats: new Map(Object.entries(stats).map(([m, arms]) => [m, new Map(Object.entries(arms))])),
    srmThreshold: 0.001,
    now,
    sizing: { requiredTotal: 40_000, bindingMetricId: 'minutes-played', guardrailPower: null },
  };
}
const cell = (a: ReturnType<typeof analyzeExperiment>, metricId: string) =>
  a.metrics.find((m) => m.metricId === metricId)!.variants.find((v) => v.variant === 'focus')!;
const excludesZero = (i: { lower: number; upper: number }) => i.lower >= 0 || i.upper <= 0;
const welch = (alpha: number) =>
  welchTest(
    { n: 20_000, sum: 20_000 * 42, sumSquares: 19_999 * 900 + 20_000 * 42 ** 2 },
    { n: 20_000, sum: 20_000 * 42.651, sumSquares: 19_999 * 900 + 20_000 * 42.651 ** 2 },
    alpha,
  );

describe('multiplicity-adjusted intervals in the analysis (issue 10)', () => {
  it('Bonferroni: each success metric reads its interval at α/m, the Welch interval at 0.025, and is significant exactly when it excludes 0', () => {
    const a = analyzeExperiment(input({ sequential: false, correction: 'bonferroni' }));
    const mp = cell(a, 'minutes-played');
    const independent = welch(0.025); // the Welch test run at α/m by itself: the interval the cell must show
    if (!independent.ok) throw new Error(independent.reason);
    expect(mp.adjustedInterval!.level).toBe(0.025);
    expect(mp.adjustedInterval!.absolute.lower).toBeCloseTo(independent.absolute.lower, 10);
    expect(mp.adjustedInterval!.absolute.upper).toBeCloseTo(independent.absolute.upper, 10);
    expect(mp.adjustedInterval!.relative!.lower).toBeCloseTo(independent.relative!.lower, 12);
    expect(mp.pValue!).toBeLessThan(0.05);
    expect(mp.pValueAdjusted!).toBeGreaterThan(0.05);
    expect(mp.significant).toBe(false);
    expect(mp.assessment).toBe('no_detectable_change');
    expect(mp.note).toMatch(/bonferroni correction/);
    for (const m of a.metrics) for (const v of m.variants.filter((x) => !x.isControl)) expect(v.significant).toBe(excludesZero(v.adjustedInterval!.absolute));
    expect(a.decision.successAlpha).toEqual([
      { metricId: 'minutes-played', alpha: 0.025 },
      { metricId: 'stream-rate', alpha: 0.025 },
    ]);
  });

  it('Holm: the smaller p is read at α/2, the second at α (its step), so minutes-played stays significant, as its Holm p ≤ α says', () => {
    const a = analyzeExperiment(input({ sequential: false, correction: 'holm' }));
    const mp = cell(a, 'minutes-played');
    const independent = welch(0.05);
    if (!independent.ok) throw new Error(independent.reason);
    expect(mp.pValueAdjusted!).toBeCloseTo(mp.pValue!, 15); // max(2·p_stream, p_minutes)
    expect(mp.adjustedInterval!.level).toBe(0.05);
    expect(mp.adjustedInterval!.absolute.lower).toBeCloseTo(independent.absolute.lower, 10);
    expect(mp.significant).toBe(true);
    expect(cell(a, 'stream-rate').adjustedInterval!.level).toBe(0.025);
    expect(a.decision.successAlpha.map((s) => s.alpha)).toEqual([0.05, 0.025]);
  });

  it('always-valid: the adjusted interval is the confidence sequence at the cell level with ρ held, wider than at α and consistent with the adjusted p', () => {
    const a = analyzeExperiment(input({ correction: 'bonferroni' }));
    for (const id of ['minutes-played', 'stream-rate']) {
      const v = cell(a, id);
      expect(v.adjustedInterval!.level).toBe(0.025);
      expect(v.adjustedInterval!.absolute.upper - v.adjustedInterval!.absolute.lower).toBeGreaterThan(v.absolute!.upper - v.absolute!.lower);
      expect(v.significant).toBe(excludesZero(v.adjustedInterval!.absolute));
      expect(v.significant).toBe(v.pValueAdjusted! <= 0.05);
    }
  });

  it('proportionTest "pooled" judges binary metrics under a fixed-horizon plan only', () => {
    const pooled = proportionTest({ n: 20_000, successes: 6000 }, { n: 20_000, successes: 6600 }, 0.05, 'pooled');
    if (!pooled.ok) throw new Error(pooled.reason);
    const fixed = cell(analyzeExperiment(input({ sequential: false, proportionTest: 'pooled' })), 'stream-rate');
    expect(fixed.pValue).toBe(pooled.pValue);
    const av = cell(analyzeExperiment(input({ proportionTest: 'pooled' })), 'stream-rate');
    const avUnpooled = cell(analyzeExperiment(input({})), 'stream-rate');
    expect(av.pValue).toBe(avUnpooled.pValue);
  });
});
