import { describe, expect, it } from 'vitest';
import { analyzeExperiment, type AnalysisInput } from '../../src/domain/analysis/analyze-experiment.js';
import type { ArmStats } from '../../src/domain/analysis/compare-arms.js';
import { ExperimentConfigSchema } from '../../src/domain/schemas.js';
import { DEMO_METRICS } from '../helpers/demo-catalog.js';
import { demoConfig } from '../helpers/app.js';

// Arms with an exact mean and sample variance (no covariate, so Welch): Σx = n·mean, Σx² = (n − 1)·s² + n·mean².
const exact = (n: number, mean: number, variance: number): ArmStats => ({
  n,
  sumX: n * mean,
  sumX2: (n - 1) * variance + n * mean * mean,
  sumY: 0,
  sumY2: 0,
  sumXY: 0,
});

const metrics = new Map(DEMO_METRICS.map((m) => [m.id, m]));
function input(plan: Record<string, unknown>): AnalysisInput {
  const config = ExperimentConfigSchema.parse(
    demoConfig({
      successMetrics: ['minutes-played'],
      guardrails: [{ metricId: 'latency-ms', margin: 3.3, marginType: 'absolute' }],
      analysisPlan: { alpha: 0.05, power: 0.8, mde: 0.02, durationDays: 14, sequentialTuning: 40_000, ...plan },
    }),
  );
  const now = new Date('2026-11-26T00:00:00Z');
  const stats = {
    'minutes-played': { control: exact(20_000, 42, 900), focus: exact(20_000, 42, 900) },
    // latency-ms (lower is better): treatment 1 ms slower, sd 80 in both arms → SE = sqrt(2·6400/20 000) = 0.8.
    'latency-ms': { control: exact(20_000, 320, 6400), focus: exact(20_000, 321, 6400) },
  };
  return {
    experiment: { ...config, status: 'running', startedAt: new Date(now.getTime() - 14 * 86_400_000).toISOString() },
    metrics,
    stats: new Map(Object.entries(stats).map(([m, arms]) => [m, new Map(Object.entries(arms))])),
    srmThreshold: 0.001,
    now,
  };
}
const latency = (a: ReturnType<typeof analyzeExperiment>) => a.metrics.find((m) => m.metricId === 'latency-ms')!.variants.find((v) => v.variant === 'focus')!;

describe('non-inferiority guardrails under the always-valid method (issue 10): the one-sided sequence', () => {
  // Independently (python3 math), n = tuningN = 40 000, α = 0.05, estimate +1, SE 0.8, margin 3.3 ms:
  //   one-sided (eq. 134, ρ tuned at 2α): x = −2 ln 0.1 + ln(1 − 2 ln 0.1) = 6.328860,
  //     upper = 1 + 0.8·sqrt(2(x+1)/x·ln(1 + sqrt(x+1)/0.1)) = 3.2232753882508174 ≤ 3.3 → non-inferior;
  //   two-sided (eq. 155, ρ tuned at α): x = −2 ln 0.05 + ln(1 − 2 ln 0.05) = 7.936155,
  //     upper = 1 + 0.8·sqrt(2(x+1)/x·(½ ln(1+x) − ln 0.05)) = 3.428167192301002 > 3.3 → was not shown non-inferior.
  it('meets a margin the two-sided sequence misses, and names the bound', () => {
    const v = latency(analyzeExperiment(input({})));
    expect(v.nonInferiority).toMatchObject({ nonInferior: true, threshold: 3.3, boundMethod: 'one-sided confidence sequence' });
    expect(v.nonInferiority!.bound).toBeCloseTo(3.2232753882508174, 9);
    // The interval shown (and the harm test of the circuit breaker) stays the two-sided sequence.
    expect(v.absolute!.upper).toBeCloseTo(3.428167192301002, 9);
    expect(v.absolute!.lower).toBeCloseTo(-1.428167192301002, 9);
    expect(v.assessment).toBe('no_detectable_change');
  });

  it('mSPRT and group-sequential plans keep the bad-side bound of their interval; fixed horizon the one-sided test', () => {
    const msprt = latency(analyzeExperiment(input({ sequentialMethod: 'msprt' })));
    expect(msprt.nonInferiority).toMatchObject({ boundMethod: 'mSPRT interval', bound: msprt.absolute!.upper });
    const gs = latency(analyzeExperiment(input({ looks: 5 })));
    expect(gs.nonInferiority).toMatchObject({ boundMethod: 'repeated confidence interval', bound: gs.absolute!.upper });
    // Fixed horizon: 1 + z_0.95·0.8 = 2.315883 (python3 statistics.NormalDist).
    const fixed = latency(analyzeExperiment(input({ sequential: false })));
    expect(fixed.nonInferiority).toMatchObject({ nonInferior: true, boundMethod: 'one-sided test' });
    expect(fixed.nonInferiority!.bound).toBeCloseTo(2.315883, 5);
  });
});
