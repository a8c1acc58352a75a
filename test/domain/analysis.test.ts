import { describe, expect, it } from 'vitest';
import { analyzeExperiment, type AnalysisInput } from '../../src/domain/analysis/analyze-experiment.js';
import { compareArms, type ArmStats } from '../../src/domain/analysis/compare-arms.js';
import { summarize, welchTest } from '../../src/domain/stats/index.js';
import { DEMO_METRICS } from '../helpers/demo-catalog.js';
import { ExperimentConfigSchema } from '../../src/domain/schemas.js';
import { demoConfig } from '../helpers/app.js';

// Synthetic per-arm sufficient statistics built from a seeded normal generator, so every expected
// property follows from the construction (true effect known), not from the code under test.
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function arm(n: number, mean: number, sd: number, rand: () => number, rho = 0, binaryP?: number): ArmStats {
  const s: ArmStats = { n, sumX: 0, sumX2: 0, sumY: 0, sumY2: 0, sumXY: 0 };
  for (let i = 0; i < n; i++) {
    const z1 = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const z2 = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const y = 42 + 30 * z1; // pre-exposure covariate
    const x = binaryP !== undefined ? (rand() < binaryP ? 1 : 0) : mean + sd * (rho * z1 + Math.sqrt(1 - rho * rho) * z2);
    s.sumX += x;
    s.sumX2 += x * x;
    s.sumY += binaryP !== undefined ? 0 : y;
    s.sumY2 += binaryP !== undefined ? 0 : y * y;
    s.sumXY += binaryP !== undefined ? 0 : x * y;
  }
  return s;
}

const metrics = new Map(DEMO_METRICS.map((m) => [m.id, m]));
function input(overrides: {
  plan?: Record<string, unknown>;
  stats: Record<string, Record<string, ArmStats>>;
  days?: number;
  success?: string[];
  guardrails?: { metricId: string; margin: number; marginType?: 'relative' | 'absolute'; test?: 'non_inferiority' | 'no_deterioration' }[];
}): AnalysisInput {
  const config = ExperimentConfigSchema.parse(
    demoConfig({
      successMetrics: overrides.success ?? ['minutes-played'],
      guardrails: overrides.guardrails ?? [{ metricId: 'latency-ms', margin: 0.05 }],
      analysisPlan: { alpha: 0.05, power: 0.8, mde: 0.02, durationDays: 14, ...overrides.plan },
    }),
  );
  const now = new Date('2026-11-26T00:00:00Z');
  return {
    experiment: { ...config, status: 'running', startedAt: new Date(now.getTime() - (overrides.days ?? 14) * 86_400_000).toISOString() },
    metrics,
    stats: new Map(Object.entries(overrides.stats).map(([m, arms]) => [m, new Map(Object.entries(arms))])),
    srmThreshold: 0.001,
    now,
  };
}
const cell = (a: ReturnType<typeof analyzeExperiment>, metricId: string, variant = 'focus') =>
  a.metrics.find((m) => m.metricId === metricId)!.variants.find((v) => v.variant === variant)!;

describe('analyzeExperiment', () => {
  const rand = prng(7);
  // minutes-played: baseline 42, sd 30, true +6% lift, covariate correlation 0.7; latency unchanged.
  const stats = {
    'minutes-played': { control: arm(20000, 42, 30, rand, 0.7), focus: arm(20000, 42 * 1.06, 30, rand, 0.7) },
    'latency-ms': { control: arm(20000, 320, 80, rand), focus: arm(20000, 320, 80, rand) },
  };

  it('always-valid intervals are wider than fixed-horizon ones and cover the true effect', () => {
    const av = analyzeExperiment(input({ stats }));
    const fx = analyzeExperiment(input({ stats, plan: { sequential: false } }));
    expect(av.method).toBe('always-valid');
    expect(fx.method).toBe('fixed-horizon');
    const a = cell(av, 'minutes-played');
    const f = cell(fx, 'minutes-played');
    expect(a.absolute!.estimate).toBeCloseTo(f.absolute!.estimate, 12);
    expect(a.absolute!.upper - a.absolute!.lower).toBeGreaterThan(f.absolute!.upper - f.absolute!.lower);
    expect(a.pValue!).toBeGreaterThanOrEqual(f.pValue!);
    expect(a.relative!.lower).toBeLessThan(0.06);
    expect(a.relative!.upper).toBeGreaterThan(0.06);
    expect(a.assessment).toBe('better');
  });

  it('CUPED removes about ρ² of the variance', () => {
    const a = cell(analyzeExperiment(input({ stats })), 'minutes-played');
    expect(a.varianceReduction!).toBeGreaterThan(0.45); // ρ = 0.7 → 1 − ρ² ≈ 0.49 expected reduction
    expect(a.varianceReduction!).toBeLessThan(0.53);
    const off = cell(analyzeExperiment(input({ stats, plan: { cuped: false } })), 'minutes-played');
    expect(off.varianceReduction).toBeNull();
    expect(off.absolute!.upper - off.absolute!.lower).toBeGreaterThan(a.absolute!.upper - a.absolute!.lower);
  });

  it('ships when the success metric wins and the guardrail is non-inferior', () => {
    // mde 5%: 40 000 units exceed the planned sample, and 14 days the planned two weeks.
    const r = analyzeExperiment(input({ stats, plan: { mde: 0.05 } }));
    expect(cell(r, 'latency-ms').nonInferiority).toMatchObject({ nonInferior: true });
    expect(r.srm).toMatchObject({ checked: true, mismatch: false });
    expect(r.decision).toMatchObject({ decision: 'ship', variant: 'focus', blockers: [] });
  });

  it('rolls back when a guardrail deteriorates significantly', () => {
    const bad = { ...stats, 'latency-ms': { control: arm(20000, 320, 80, rand), focus: arm(20000, 340, 80, rand) } };
    const r = analyzeExperiment(input({ stats: bad }));
    expect(cell(r, 'latency-ms').assessment).toBe('worse');
    expect(r.decision.decision).toBe('roll_back');
    expect(r.decision.blockers.join(' ')).toMatch(/latency-ms deteriorated/);
  });

  it('a sample ratio mismatch blocks shipping', () => {
    const skew = {
      'minutes-played': { control: arm(20000, 42, 30, rand, 0.7), focus: arm(21000, 42 * 1.06, 30, rand, 0.7) },
      'latency-ms': { control: arm(20000, 320, 80, rand), focus: arm(21000, 320, 80, rand) },
    };
    const r = analyzeExperiment(input({ stats: skew }));
    expect(r.srm.mismatch).toBe(true);
    expect(r.decision.decision).not.toBe('ship');
    expect(r.decision.blockers.join(' ')).toMatch(/sample ratio/i);
  });

  it('group-sequential tests nothing before the first look', () => {
    const small = {
      'minutes-played': { control: arm(200, 42, 30, rand, 0.7), focus: arm(200, 42 * 1.3, 30, rand, 0.7) },
      'latency-ms': { control: arm(200, 320, 80, rand), focus: arm(200, 320, 80, rand) },
    };
    const r = analyzeExperiment(input({ stats: small, plan: { looks: 5 } }));
    expect(r.method).toBe('group-sequential');
    expect(cell(r, 'minutes-played')).toMatchObject({ significant: false });
    expect(cell(r, 'minutes-played').note).toMatch(/first look/);
  });

  it('corrects for multiple success metrics (Holm)', () => {
    // Three success metrics; only a marginal effect on one: significant alone, not after correction.
    const marginal = { control: arm(20000, 42, 30, prng(11)), focus: arm(20000, 42.6, 30, prng(12)) };
    const r = analyzeExperiment(
      input({
        stats: {
          'minutes-played': marginal,
          'streams-per-user': { control: arm(20000, 6.5, 5, rand), focus: arm(20000, 6.5, 5, rand) },
          saves: { control: arm(20000, 0.8, 1.4, rand), focus: arm(20000, 0.8, 1.4, rand) },
          'latency-ms': stats['latency-ms'],
        },
        success: ['minutes-played', 'streams-per-user', 'saves'],
        plan: { sequential: false, cuped: false },
      }),
    );
    const m = cell(r, 'minutes-played');
    expect(m.pValue!).toBeLessThan(0.05);
    expect(m.pValueAdjusted!).toBeGreaterThanOrEqual(m.pValue!);
    // Seeded construction: p ≈ 0.035 alone; Holm multiplies the smallest of three p-values by 3.
    expect(m.pValueAdjusted!).toBeCloseTo(Math.min(1, 3 * m.pValue!), 12);
    expect(m.pValueAdjusted!).toBeGreaterThan(0.05);
    expect(m).toMatchObject({ significant: false, assessment: 'no_detectable_change' });
    expect(m.note).toMatch(/holm correction/);
  });

  it('keeps a success metric significant when its adjusted p equals α (p ≤ α, issue 10 defect 4)', () => {
    // Same three metrics; α is then set to 3·p, exactly Holm's adjusted p of the smallest p-value, so
    // the tie is exact by construction (statsmodels multipletests rejects at pvals <= alpha too).
    const marginal = { control: arm(20000, 42, 30, prng(11)), focus: arm(20000, 42.6, 30, prng(12)) };
    const r2 = prng(13);
    const stats2 = {
      'minutes-played': marginal,
      'streams-per-user': { control: arm(20000, 6.5, 5, r2), focus: arm(20000, 6.5, 5, r2) },
      saves: { control: arm(20000, 0.8, 1.4, r2), focus: arm(20000, 0.8, 1.4, r2) },
      'latency-ms': stats['latency-ms'],
    };
    const run = (alpha: number) =>
      analyzeExperiment(input({ stats: stats2, success: ['minutes-played', 'streams-per-user', 'saves'], plan: { sequential: false, cuped: false, alpha } }));
    const p = cell(run(0.05), 'minutes-played').pValue!;
    const others = ['streams-per-user', 'saves'].map((id) => cell(run(0.05), id).pValue!);
    expect(Math.min(...others)).toBeGreaterThan(p); // so Holm multiplies p by 3
    const m = cell(run(3 * p), 'minutes-played');
    expect(m.pValueAdjusted).toBe(3 * p);
    expect(m).toMatchObject({ significant: true, assessment: 'better' });
  });

  it('reports not_computable, never significant, for sums no real data can give (issue 10, defect 1)', () => {
    // Treatment Σx² set below (Σx)²/n (a corrupted store row): clamping its variance to 0 used to make
    // the difference "significant" with p ≈ 0. Both the plain and the CUPED (cross-sum) paths refuse.
    const ok = arm(20000, 42, 30, prng(21), 0.7);
    const corrupt = { ...arm(20000, 44, 30, prng(22), 0.7) };
    corrupt.sumX2 = (corrupt.sumX * corrupt.sumX) / corrupt.n / 2;
    const crossCorrupt = { ...arm(20000, 44, 30, prng(23), 0.7) };
    crossCorrupt.sumXY *= 3;
    for (const plan of [{ sequential: false }, { sequential: true }, { sequential: false, cuped: false }]) {
      const r = analyzeExperiment(input({ stats: { 'minutes-played': { control: ok, focus: corrupt } }, plan }));
      expect(cell(r, 'minutes-played')).toMatchObject({ assessment: 'not_computable', significant: false, pValue: null });
      expect(cell(r, 'minutes-played').note).toMatch(/^treatment: .*by more than rounding/);
    }
    const r = analyzeExperiment(input({ stats: { 'minutes-played': { control: ok, focus: crossCorrupt } }, plan: { sequential: false } }));
    expect(cell(r, 'minutes-played')).toMatchObject({ assessment: 'not_computable', significant: false });
    expect(cell(r, 'minutes-played').note).toMatch(/covariance exceeds/);
  });

  it('reports not_computable with a reason instead of NaN for an empty arm', () => {
    const r = analyzeExperiment(input({ stats: { 'minutes-played': { control: arm(50, 42, 30, rand) } } }));
    const m = cell(r, 'minutes-played');
    expect(m).toMatchObject({ assessment: 'not_computable', significant: false, absolute: null });
    expect(m.note).toBeTruthy();
  });
});

describe('guardrail margins on rare events', () => {
  it('uses the catalog baseline as the reference when control has no events yet', () => {
    const rand = prng(99);
    const none = (n: number): ArmStats => ({ n, sumX: 0, sumX2: 0, sumY: 0, sumY2: 0, sumXY: 0 });
    const one = (n: number): ArmStats => ({ n, sumX: 1, sumX2: 1, sumY: 0, sumY2: 0, sumXY: 0 });
    const r = analyzeExperiment(
      input({
        stats: {
          'minutes-played': { control: arm(5000, 42, 30, rand), focus: arm(5000, 42, 30, rand) },
          'crash-rate': { control: none(5000), focus: one(5000) },
        },
        guardrails: [{ metricId: 'crash-rate', margin: 0.5 }],
        plan: { sequential: false },
      }),
    );
    const ni = cell(r, 'crash-rate').nonInferiority!;
    // crash-rate baseline 0.004 in the catalog: threshold = 0.5 × 0.004, not 0.
    expect(ni.threshold).toBeCloseTo(0.002, 12);
  });
});

describe('decisions respect the plan: sample, whole days, blind metrics (issue 9)', () => {
  const rand = prng(5);
  // A true +6% on minutes-played with 20 000 units per arm: significantly better at any plan here.
  const win = {
    'minutes-played': { control: arm(20000, 42, 30, rand, 0.7), focus: arm(20000, 42 * 1.06, 30, rand, 0.7) },
    'latency-ms': { control: arm(20000, 320, 80, rand), focus: arm(20000, 320, 80, rand) },
  };
  const plan = { mde: 0.05, durationDays: 10 };

  it('a winner waits for the planned whole days (whole weeks from 7 up), saying when they are met', () => {
    const early = analyzeExperiment(input({ stats: win, plan, days: 6.5 }));
    expect(cell(early, 'minutes-played').assessment).toBe('better');
    // durationDays 10 → 7 whole days required; 6.5 days running → 6 whole days.
    expect(early.decision).toMatchObject({
      decision: 'keep_running',
      pending: [{ kind: 'duration', haveDays: 6, needDays: 7, metAt: '2026-11-26T12:00:00.000Z' }],
    });
    expect(early.decision.blockers.join(' ')).toContain('minimum duration pending: 6 of 7 whole days, met at 2026-11-26T12:00:00.000Z');
    expect(analyzeExperiment(input({ stats: win, plan, days: 7 })).decision).toMatchObject({ decision: 'ship', pending: [] });
  });

  it('the planned sample pending is expected at the observed daily rate', () => {
    const r = analyzeExperiment(input({ stats: win, plan: { ...plan, mde: 0.02 }, days: 8 }));
    const need = r.sample.plannedTotal;
    expect(need).toBeGreaterThan(40_000);
    // 40 000 units in 8 days = 5000/day; the rest arrives (need − 40 000)/5000 days after now.
    const expectedAt = new Date(Date.parse('2026-11-26T00:00:00Z') + ((need - 40_000) / 5000) * 86_400_000).toISOString();
    expect(r.pending).toEqual([{ kind: 'sample', have: 40_000, need, expectedAt }]);
    expect(r.decision.decision).toBe('keep_running');
  });

  it('a success metric significantly worse rolls back only once the plan is met; a guardrail worse rolls back at once', () => {
    const lose = { ...win, 'minutes-played': { control: win['minutes-played'].focus, focus: win['minutes-played'].control } };
    expect(analyzeExperiment(input({ stats: lose, plan, days: 3 })).decision.decision).toBe('keep_running');
    expect(analyzeExperiment(input({ stats: lose, plan, days: 7 })).decision.decision).toBe('roll_back');
    const slow = { ...win, 'latency-ms': { control: arm(20000, 320, 80, rand), focus: arm(20000, 340, 80, rand) } };
    expect(analyzeExperiment(input({ stats: slow, plan, days: 1 })).decision.decision).toBe('roll_back');
  });

  it('a no_deterioration guardrail passes unless significantly worse; a blind one blocks ship naming the arm', () => {
    const crashes = (n: number, k: number): ArmStats => ({ n, sumX: k, sumX2: k, sumY: 0, sumY2: 0, sumXY: 0 });
    const guardrails = [{ metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' as const }];
    const seen = analyzeExperiment(
      input({ stats: { ...win, 'crash-rate': { control: crashes(20000, 80), focus: crashes(20000, 85) } }, guardrails, plan, days: 7 }),
    );
    expect(cell(seen, 'crash-rate')).toMatchObject({ nonInferiority: null, blind: false, assessment: 'no_detectable_change' });
    expect(seen.metrics.find((m) => m.metricId === 'crash-rate')).toMatchObject({ test: 'no_deterioration', marginType: 'relative' });
    expect(seen.decision.decision).toBe('ship');

    const blind = analyzeExperiment(
      input({ stats: { ...win, 'crash-rate': { control: crashes(20000, 80), focus: crashes(20000, 0) } }, guardrails, plan, days: 7 }),
    );
    expect(cell(blind, 'crash-rate').blind).toBe(true);
    expect(blind.blind).toEqual([{ metricId: 'crash-rate', role: 'guardrail', variant: 'focus' }]);
    expect(blind.decision.decision).toBe('keep_running');
    expect(blind.decision.blockers.join(' ')).toContain('guardrail metric crash-rate is blind in arm focus');
  });

  it('an absolute margin is a threshold in the metric unit', () => {
    const r = analyzeExperiment(input({ stats: win, guardrails: [{ metricId: 'latency-ms', margin: 3, marginType: 'absolute' }], plan, days: 7 }));
    expect(cell(r, 'latency-ms').nonInferiority!.threshold).toBe(3);
  });

  it('the decision carries what a stored record needs: rule, method, α, power, guardrail power, plan', () => {
    const r = analyzeExperiment(input({ stats: win, plan, days: 7 }));
    expect(r.decision).toMatchObject({
      rule: { name: 'risk-aware decision rule', source: expect.stringContaining('Schultzberg') },
      method: 'always-valid',
      alpha: 0.05,
      power: 0.8,
      // One success metric, one non-inferiority guardrail: 1 − 0.2/2.
      guardrailPower: 0.9,
      requiredDays: 7,
      observedTotal: 40_000,
    });
  });
});

describe('shifted sums in the analysis (issue 10, defect 2)', () => {
  it('Welch reads the shifted sums the pipeline keeps: same t as the values themselves, where raw sums drift', () => {
    // Values 3·10⁶ + sin(i) (control) and + 0.2 + cos(i) (treatment); reference: welchTest on summaries
    // shifted by each arm's first value (matched to the two-pass variance in summary.test.ts), a different
    // shift from the store’s 3·10⁶. Raw-moment sums lose ~3 digits here (even compensated ones: 6e-4 on t).
    const armOf = (xs: number[]): ArmStats => {
      let sumX = 0;
      let sumX2 = 0;
      for (const x of xs) {
        sumX += x;
        sumX2 += x * x;
      }
      const d = summarize(xs, 3e6);
      return {
        n: xs.length,
        sumX,
        sumX2,
        sumY: 0,
        sumY2: 0,
        sumXY: 0,
        shiftX: 3e6,
        shiftY: 0,
        sumDX: d.sum,
        sumDX2: d.sumSquares,
        sumDY: 0,
        sumDY2: 0,
        sumDXDY: 0,
      };
    };
    const c = Array.from({ length: 400 }, (_, i) => 3e6 + Math.sin(i));
    const t = Array.from({ length: 400 }, (_, i) => 3e6 + 0.2 + Math.cos(i));
    const settings = { method: 'fixed-horizon' as const, alpha: 0.05, cuped: false, plannedTotal: 800, observedTotal: 800 };
    const cmp = compareArms({ kind: 'mean' }, armOf(c), armOf(t), settings);
    const ref = welchTest(summarize(c, c[0]), summarize(t, t[0]));
    if (!cmp.ok || !ref.ok || cmp.test.method !== 'welch') throw new Error('expected two Welch results');
    expect(Math.abs(cmp.test.tStatistic / ref.tStatistic - 1)).toBeLessThan(1e-9);
    expect(Math.abs(cmp.test.controlVariance / ref.controlVariance - 1)).toBeLessThan(1e-9);
  });
});
