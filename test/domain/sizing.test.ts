import { describe, expect, it } from 'vitest';
import { DEFAULT_SURFACE_POLICY } from '../../src/domain/policy.js';
import { ExperimentConfigSchema, type ExperimentConfigInput } from '../../src/domain/schemas.js';
import { guardrailPowerOf, requiredWholeDays, sizeExperiment } from '../../src/domain/sizing.js';
import { alwaysValidCritical, groupSequentialFinalBoundary, groupSequentialInflation } from '../../src/domain/stats/method-sizing.js';
import { DEMO_METRICS, DEMO_SURFACES } from '../../src/store/demo-seed.js';

const home = DEMO_SURFACES.find((s) => s.id === 'home')!;
const metrics = new Map(DEMO_METRICS.map((m) => [m.id, m]));
const config = (over: Partial<ExperimentConfigInput> = {}) =>
  ExperimentConfigSchema.parse({
    key: 'home-focus-shelf',
    name: 'Focus shelf',
    hypothesis: 'A focus shelf raises stream rate.',
    owner: 'home-team',
    surfaceId: 'home',
    variants: [
      { key: 'control', isControl: true, weight: 50 },
      { key: 'treatment', weight: 50, overrides: [{ slotId: 'shelf-2', contentId: 'sh-focus' }] },
    ],
    allocationPercent: 10,
    rampPlan: { stages: [25, 50] },
    successMetrics: ['stream-rate'],
    guardrails: [
      { metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' },
      { metricId: 'latency-ms', margin: 0.02 },
    ],
    analysisPlan: { mde: 0.05, durationDays: 7 },
    ...over,
  });
const size = (over: Partial<ExperimentConfigInput> = {}) => sizeExperiment(config(over), { surface: home, metrics, policy: DEFAULT_SURFACE_POLICY });
const need = (s: ReturnType<typeof size>, id: string) => s.needs.find((n) => n.metricId === id)!;

describe('sizeExperiment', () => {
  it('fixed horizon: superiority two-sided at α/S, non-inferiority one-sided at the risk-aware power', () => {
    const s = size({
      successMetrics: ['stream-rate', 'click-through'],
      guardrails: [
        { metricId: 'latency-ms', margin: 0.02 },
        { metricId: 'crash-rate', margin: 0.5 },
      ],
      analysisPlan: { mde: 0.05, durationDays: 7, sequential: false },
    });
    // python3 (statistics.NormalDist): n = ceil(2σ²(z_{1−0.025/2} + z_0.8)²/δ²), δ = 5% of the baseline.
    expect(need(s, 'stream-rate').requiredPerArm).toBe(16_159);
    expect(need(s, 'click-through').requiredPerArm).toBe(34_641);
    // Non-inferiority (Chow, Shao & Wang, §3.2): n = 2σ²(z_{1−α} + z_{1−β'})²/Δ², β' = β/(G + 1) = 0.2/3
    // (spotify/confidence add_adjusted_power): latency-ms σ² = 6400, Δ = 2% of 320 → 3093 (python3).
    expect(need(s, 'latency-ms').requiredPerArm).toBe(3_093);
    expect(s.guardrailPower).toBeCloseTo(1 - 0.2 / 3, 12);
    expect(s).toMatchObject({ bindingMetricId: 'click-through', requiredPerArm: 34_641, requiredTotal: 69_282, method: 'fixed-horizon', successAlpha: 0.025 });
  });

  it('no_deterioration guardrails need no planned sample', () => {
    const s = size();
    expect(need(s, 'crash-rate')).toMatchObject({ test: 'no_deterioration', requiredPerArm: null });
    expect(s.bindingMetricId).toBe('stream-rate');
  });

  it('always-valid: the sequence half-width c·SE at the tuned n replaces z_{1−α/2}', () => {
    // c(α) = sqrt(2(x+1)/x·(½ln(1+x) − ln α)), x = −2 ln α + ln(1 − 2 ln α) (Waudby-Smith et al. 2023 with
    // GrowthBook's ρ): 3.035209 at α = 0.05, computed in python3.
    expect(alwaysValidCritical(0.05)).toBeCloseTo(3.035209, 5);
    const s = size();
    expect(need(s, 'stream-rate').requiredPerArm).toBe(25_551); // python3: ceil(2·0.2176·(3.035209 + 0.841621)²/0.016²)
    expect(need(s, 'latency-ms').requiredPerArm).toBe(5_824); // python3: ceil(2·6400·(3.035209 + z_0.9)²/6.4²)
  });

  it("group-sequential: the fixed sample times O'Brien–Fleming's max-sample inflation", () => {
    // Jennison & Turnbull (2000) Table 2.3: R = 1.028 for classic O'Brien–Fleming at K = 5, α = 0.05, power 0.8;
    // the Lan–DeMets spending approximation is within a few thousandths.
    expect(groupSequentialInflation(5, 0.05, 0.8)).toBeCloseTo(1.028, 2);
    expect(groupSequentialFinalBoundary(5, 0.05)).toBeCloseTo(2.031, 3); // gsDesign sfLDOF, K = 5
    const s = size({ analysisPlan: { mde: 0.05, durationDays: 7, looks: 5 } });
    expect(need(s, 'stream-rate').requiredPerArm).toBe(Math.ceil(13_344 * groupSequentialInflation(5, 0.05, 0.8)));
  });

  it('stages: middle stages run their minimum or until the gate, units accumulate, the last runs to the sample', () => {
    const s = size({
      rampPlan: { stages: [25, 50], minHours: 12, gate: { minUnitsPerArm: 5000 } },
      analysisPlan: { mde: 0.05, durationDays: 7, sequential: false },
    });
    // 10% of 40 000/day = 4000/day: the gate's 10 000 units take 2.5 days (> 12 h); 25%: 10 000/day, the
    // gate is met, 12 h → 15 000 units; 50%: 20 000/day for the remaining 26 688 − 15 000 units = 0.58 days.
    expect(s.stages).toEqual([
      { percent: 10, unitsPerDay: 4000, days: 2.5, reason: expect.stringContaining('gate') },
      { percent: 25, unitsPerDay: 10_000, days: 0.5, reason: expect.stringContaining('12 hours') },
      { percent: 50, unitsPerDay: 20_000, days: 0.58, reason: expect.stringContaining('26688') },
    ]);
    expect(s.totalDays).toBe(4);
  });

  it('the sample reached in a middle stage ends the count there', () => {
    const s = size({ rampPlan: { stages: [25, 50], minHours: 240 }, analysisPlan: { mde: 0.05, durationDays: 14, sequential: false } });
    expect(s.stages.map((x) => x.days)).toEqual([6.67, 0, 0]); // 26 688 / 4000 per day
    expect(s.totalDays).toBe(7);
  });

  it('the realistic demo experiment fits its week: Home, stream-rate at 5%, crash-rate + latency-ms, 10→25→50%', () => {
    const s = size();
    expect(s.totalDays).toBeLessThanOrEqual(7);
  });

  it('power correction and whole days', () => {
    expect(guardrailPowerOf(0.8, 2, 1)).toBeCloseTo(1 - 0.2 / 3, 12);
    expect(guardrailPowerOf(0.8, 2, 0)).toBeCloseTo(0.9, 12);
    expect([3, 6, 7, 10, 14, 20].map(requiredWholeDays)).toEqual([3, 6, 7, 7, 14, 14]);
  });
});
