import { describe, expect, it } from 'vitest';
import { analyzeExperiment, type AnalysisInput } from '../../src/domain/analysis/analyze-experiment.js';
import { fixedTest, type ArmStats } from '../../src/domain/analysis/compare-arms.js';
import { msprtReading } from '../../src/domain/analysis/sequential-options.js';
import { sketchOf } from '../../src/domain/quantile-sketch.js';
import { ExperimentConfigSchema } from '../../src/domain/schemas.js';
import { bayesianComparison, confidenceSequence, msprt } from '../../src/domain/stats/index.js';
import { DEMO_METRICS } from '../helpers/demo-catalog.js';
import { demoConfig } from '../helpers/app.js';

// Wiring of the analysis plan's always-valid and Bayesian options into get_metrics' analysis. The
// statistics themselves are checked against published values in test/domain/stats; here the expected
// values are those functions applied by hand to the same arm statistics.

/** Exact arm statistics of n units with the given mean and sd (Σx and Σx² fixed, no randomness). */
function arm(n: number, mean: number, sd: number): ArmStats {
  const sumX = n * mean;
  return { n, sumX, sumX2: sd * sd * (n - 1) + (sumX * sumX) / n, sumY: 0, sumY2: 0, sumXY: 0 };
}

const metrics = new Map(DEMO_METRICS.map((m) => [m.id, m]));
function input(plan: Record<string, unknown>, stats: Record<string, ArmStats>, history?: Record<string, ArmStats>[]): AnalysisInput {
  const config = ExperimentConfigSchema.parse(
    demoConfig({ successMetrics: ['minutes-played'], guardrails: [], analysisPlan: { alpha: 0.05, power: 0.8, mde: 0.02, durationDays: 14, ...plan } }),
  );
  const now = new Date('2026-11-26T00:00:00Z');
  return {
    experiment: { ...config, status: 'running', startedAt: new Date(now.getTime() - 14 * 86_400_000).toISOString() },
    metrics,
    stats: new Map([['minutes-played', new Map(Object.entries(stats))]]),
    history: history ? new Map([['minutes-played', history.map((d) => new Map(Object.entries(d)))]]) : undefined,
    srmThreshold: 0.001,
    now,
  };
}
const cell = (a: ReturnType<typeof analyzeExperiment>) => a.metrics[0].variants.find((v) => v.variant === 'focus')!;
const testOf = (c: ArmStats, t: ArmStats) => {
  const r = fixedTest({ kind: 'mean' }, c, t, 0.05, true);
  if (!r.ok) throw new Error(r.reason);
  return r;
};

describe('analysisPlan.sequentialMethod "msprt"', () => {
  // Day 1: a large early difference; now: the difference has shrunk to noise.
  const day1 = { control: arm(2000, 42, 30), focus: arm(2000, 46, 30) };
  const now = { control: arm(20000, 42, 30), focus: arm(20000, 42.1, 30) };

  it('τ² = (mde·|baseline|)², the p-value is the running minimum over the daily looks and the interval excludes 0 with it', () => {
    const a = analyzeExperiment(input({ sequentialMethod: 'msprt' }, now, [day1, now]));
    expect(a.method).toBe('always-valid');
    expect(a.sequential).toMatchObject({ method: 'msprt', tuningFromPlan: false });
    expect(a.methodNote).toMatch(/mixture SPRT/);
    const tau2 = (0.02 * 42) ** 2; // minutes-played baseline 42
    const v = cell(a);
    expect(v.msprt!.mixingVariance).toBeCloseTo(tau2, 12);
    const t1 = testOf(day1.control, day1.focus);
    const first = msprt({ estimate: t1.absolute.estimate, standardError: t1.standardError, mixingVariance: tau2 });
    if (!first.ok) throw new Error(first.reason);
    expect(first.pValue).toBeLessThan(0.05);
    expect(v.msprt!.pValueAtLook).toBe(1);
    expect(v.pValue).toBe(first.pValue);
    expect(v.significant).toBe(true);
    expect(v.absolute!.lower).toBeGreaterThan(0);
    // Without the history the current look alone is not significant.
    const alone = cell(analyzeExperiment(input({ sequentialMethod: 'msprt' }, now)));
    expect(alone.significant).toBe(false);
  });

  it('msprtMixingSd overrides τ (relative to the baseline)', () => {
    const v = cell(analyzeExperiment(input({ sequentialMethod: 'msprt', msprtMixingSd: 0.05 }, now)));
    expect(v.msprt!.mixingVariance).toBeCloseTo((0.05 * 42) ** 2, 12);
  });

  it('the default stays the confidence sequence, with no mSPRT fields', () => {
    const a = analyzeExperiment(input({}, now, [day1, now]));
    expect(a.sequential?.method).toBe('confidence_sequence');
    expect(cell(a).msprt).toBeNull();
  });
});

describe('analysisPlan.sequentialTuning', () => {
  it('tunes the confidence sequence at the given total instead of the sizing', () => {
    const stats = { control: arm(5000, 42, 30), focus: arm(5000, 43, 30) };
    const a = analyzeExperiment(input({ sequentialTuning: 12345 }, stats));
    expect(a.sequential).toEqual({ method: 'confidence_sequence', tuningTotal: 12345, tuningFromPlan: true });
    const t = testOf(stats.control, stats.focus);
    const cs = confidenceSequence({ estimate: t.absolute.estimate, standardError: t.standardError, n: 10000, tuningN: 12345 });
    if (!cs.ok) throw new Error(cs.reason);
    expect(cell(a).absolute!.lower).toBe(cs.lower);
    expect(cell(a).absolute!.upper).toBe(cs.upper);
  });
});

describe('analysisPlan.prior in the Bayesian view', () => {
  const stats = { control: arm(5000, 40, 30), focus: arm(5000, 41, 30) };

  it('a relative prior is rescaled with the control mean (40) to metric units', () => {
    const a = analyzeExperiment(input({ bayesian: true, prior: { mean: 0.01, variance: 0.0001, scale: 'relative' } }, stats));
    const b = cell(a).bayesian!;
    if (!b.ok) throw new Error(b.reason);
    expect(b.prior!.mean).toBeCloseTo(0.4, 12); // 0.01 × 40
    expect(b.prior!.variance).toBeCloseTo(0.16, 12); // 1e-4 × 40²
    const t = testOf(stats.control, stats.focus);
    const ref = bayesianComparison({
      estimate: t.absolute.estimate,
      standardError: t.standardError,
      direction: 'increase',
      prior: { mean: 0.4, variance: 0.16, scale: 'absolute' },
    });
    if (!ref.ok) throw new Error(ref.reason);
    expect(b.posteriorMean).toBeCloseTo(ref.posteriorMean, 12);
    expect(b.credibleInterval.lower).toBeCloseTo(ref.credibleInterval.lower, 12);
    expect(b.chanceToBeatControl).toBeCloseTo(ref.chanceToBeatControl, 12);
  });

  it("says 'no data' when the treatment arm has no units yet", () => {
    const a = analyzeExperiment(input({ bayesian: true }, { control: arm(5000, 40, 30), focus: { n: 0, sumX: 0, sumX2: 0, sumY: 0, sumY2: 0, sumXY: 0 } }));
    expect(cell(a).bayesian).toEqual({ ok: false, reason: 'no data' });
  });
});

// Quantile metrics keep no daily histograms, so their daily looks are not computable: the mSPRT reads
// the looks it can compute (the current one, and any day that had a histogram). The running minimum
// over a subset of looks is still an always-valid p-value, only conservative (docs/stats.md, mSPRT).
describe('mSPRT with looks that are not computable (quantile metrics)', () => {
  /** n unit values spread evenly over [lo, lo + 200): a fixed sketch, no randomness. */
  const values = (n: number, lo: number) => Array.from({ length: n }, (_, i) => lo + ((i * 7919) % n) * (200 / n));
  const withSketch = (n: number, lo: number): ArmStats => ({ n, sumX: 0, sumX2: 0, sumY: 0, sumY2: 0, sumXY: 0, sketch: sketchOf(values(n, lo)) });
  const dayWithoutSketch: ArmStats = { n: 1000, sumX: 400_000, sumX2: 160_001_000, sumY: 0, sumY2: 0, sumXY: 0 };
  const p90 = metrics.get('latency-p90')!;
  function quantileInput(stats: Record<string, ArmStats>, history: Record<string, ArmStats>[]): AnalysisInput {
    const config = ExperimentConfigSchema.parse(
      demoConfig({
        successMetrics: ['latency-p90'],
        guardrails: [],
        analysisPlan: { alpha: 0.05, power: 0.8, mde: 0.02, durationDays: 14, sequentialMethod: 'msprt' },
      }),
    );
    const at = new Date('2026-11-26T00:00:00Z');
    return {
      experiment: { ...config, status: 'running', startedAt: new Date(at.getTime() - 14 * 86_400_000).toISOString() },
      metrics,
      stats: new Map([['latency-p90', new Map(Object.entries(stats))]]),
      history: new Map([['latency-p90', history.map((d) => new Map(Object.entries(d)))]]),
      srmThreshold: 0.001,
      now: at,
    };
  }
  const current = { control: withSketch(2000, 300), focus: withSketch(2000, 302) };
  const tau2 = (0.02 * p90.baselineMean) ** 2;
  const msprtOf = (t: ReturnType<typeof testOf>) => {
    const r = msprt({ estimate: t.absolute.estimate, standardError: t.standardError, mixingVariance: tau2 });
    if (!r.ok) throw new Error(r.reason);
    return r;
  };
  const quantileTestOf = (c: ArmStats, t: ArmStats) => {
    const r = fixedTest(p90, c, t, 0.05, false);
    if (!r.ok) throw new Error(r.reason);
    return r;
  };

  it('skips daily looks without histograms: the reading is the current look alone, not "not computable"', () => {
    const noSketch = { control: dayWithoutSketch, focus: dayWithoutSketch };
    expect(fixedTest(p90, noSketch.control, noSketch.focus, 0.05, false).ok).toBe(false);
    const v = cell(analyzeExperiment(quantileInput(current, [noSketch, noSketch])));
    expect(v.assessment).not.toBe('not_computable');
    const alone = msprtOf(quantileTestOf(current.control, current.focus));
    expect(v.msprt!.mixingVariance).toBeCloseTo(tau2, 9);
    expect(v.pValue).toBe(alone.pValue);
    expect(v.msprt!.pValueAtLook).toBe(alone.pValueAtLook);
  });

  it('reads the days it can compute: a day with a histogram still lowers the running minimum', () => {
    const early = { control: withSketch(2000, 300), focus: withSketch(2000, 330) };
    const noSketch = { control: dayWithoutSketch, focus: dayWithoutSketch };
    const v = cell(analyzeExperiment(quantileInput(current, [early, noSketch])));
    const first = msprtOf(quantileTestOf(early.control, early.focus));
    expect(first.pValue).toBeLessThan(0.05);
    expect(v.pValue).toBe(first.pValue);
    expect(v.significant).toBe(true);
  });

  it('msprtReading itself ignores not-computable looks (the same reading as without them)', () => {
    const t = testOf(arm(2000, 42, 30), arm(2000, 43, 30));
    const settings = { mixingVariance: (0.02 * 42) ** 2, relativeMixingVariance: 0.02 ** 2 };
    const skipped = msprtReading(t, { ...settings, earlier: [{ ok: false, reason: 'no histogram' }] }, 0.05);
    expect(skipped).toEqual(msprtReading(t, { ...settings, earlier: [] }, 0.05));
  });
});
