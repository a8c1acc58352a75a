import { describe, expect, it } from 'vitest';
import { decide, type DecisionInput, type GuardrailEvidence, type SuccessMetricEvidence } from '../../../src/domain/stats/index.js';

// The rule (docs/stats.md, "Decision"), after Schultzberg, Ankargren & Frånberg (2024), "Risk-aware
// product decisions in A/B tests with multiple metrics" (Spotify): ship only if ≥ 1 success metric is
// significantly better, every guardrail is non-inferior, nothing deteriorates and quality passes.
const better: SuccessMetricEvidence = {
  metricId: 'conversion',
  significantBetter: true,
  significantWorse: false,
  estimate: 0.0123,
  interval: { lower: 0.004, upper: 0.0206 },
  pValue: 0.0021,
};
const flat: SuccessMetricEvidence = {
  metricId: 'minutes',
  significantBetter: false,
  significantWorse: false,
  estimate: 0.5,
  interval: { lower: -1.2, upper: 2.2 },
  pValue: 0.41,
};
const worse: SuccessMetricEvidence = {
  ...flat,
  metricId: 'retention',
  significantWorse: true,
  estimate: -0.02,
  interval: { lower: -0.03, upper: -0.01 },
  pValue: 0.0004,
};
const safe: GuardrailEvidence = {
  metricId: 'crash_rate',
  nonInferior: true,
  significantWorse: false,
  estimate: 0.0001,
  bound: 0.0004,
  threshold: 0.0006,
  pValue: 0.003,
};
const unproven: GuardrailEvidence = {
  metricId: 'latency_ms',
  nonInferior: false,
  significantWorse: false,
  estimate: 3,
  bound: 9.5,
  threshold: 8,
  pValue: 0.09,
};
const harmful: GuardrailEvidence = { metricId: 'latency_ms', nonInferior: false, significantWorse: true, estimate: 25, bound: 31, threshold: 8, pValue: 0.99 };
const good = { srmMismatch: false, enoughData: true, reasons: ['14,200 of 14,128 planned units per arm'] };

function run(over: Partial<DecisionInput>) {
  return decide({ successMetrics: [better], guardrails: [safe], quality: good, ...over });
}

describe('decide', () => {
  it('ships when a success metric wins, every guardrail is non-inferior and quality passes; reasons carry numbers', () => {
    const r = run({});
    expect(r.decision).toBe('ship');
    expect(r.blockers).toEqual([]);
    expect(r.reasons.join('\n')).toMatch(/conversion: significantly better, effect \+0\.0123 \[0\.004, 0\.0206\], adjusted p = 0\.0021/);
    expect(r.reasons.join('\n')).toMatch(/guardrail crash_rate: non-inferior \(effect \+1\.00e-4, bound 4\.00e-4 vs threshold 6\.00e-4, p = 0\.003\)/);
    expect(r.reasons).toContain('14,200 of 14,128 planned units per arm');
  });

  it('rolls back when a success metric deteriorates significantly, even if another wins', () => {
    const r = run({ successMetrics: [better, worse] });
    expect(r.decision).toBe('roll_back');
    expect(r.blockers).toContain('retention deteriorated significantly');
  });

  it('rolls back when a guardrail deteriorates significantly', () => {
    const r = run({ guardrails: [safe, harmful] });
    expect(r.decision).toBe('roll_back');
    expect(r.reasons[0]).toMatch(/^roll back: 1 metric/);
  });

  it('never ships on a sample ratio mismatch: keep running with an investigate blocker', () => {
    const r = run({ quality: { ...good, srmMismatch: true, srmPValue: 2.5e-6 } });
    expect(r.decision).toBe('keep_running');
    expect(r.blockers[0]).toMatch(/sample ratio mismatch \(p = 2\.50e-6\).*investigate/);
  });

  it('still rolls back on a significant deterioration under an SRM (stopping exposure is the safe side)', () => {
    const r = run({ successMetrics: [worse], quality: { ...good, srmMismatch: true } });
    expect(r.decision).toBe('roll_back');
    expect(r.blockers.some((b) => b.startsWith('sample ratio mismatch'))).toBe(true);
  });

  it('keeps running when a guardrail is not yet shown non-inferior, naming bound and threshold', () => {
    const r = run({ guardrails: [safe, unproven] });
    expect(r.decision).toBe('keep_running');
    expect(r.blockers).toEqual(['guardrail latency_ms is not shown non-inferior (bound 9.5 vs threshold 8)']);
  });

  it('keeps running when a winner appears before the planned sample is reached', () => {
    const r = run({ quality: { srmMismatch: false, enoughData: false } });
    expect(r.decision).toBe('keep_running');
    expect(r.blockers[0]).toMatch(/not enough data/);
  });

  it('is inconclusive when the planned sample is reached and nothing is significant', () => {
    const r = run({ successMetrics: [flat] });
    expect(r.decision).toBe('inconclusive');
    expect(r.blockers).toEqual(['no success metric is significantly better']);
  });

  it('keeps running when nothing is significant yet and the sample is not reached', () => {
    expect(run({ successMetrics: [flat], quality: { srmMismatch: false, enoughData: false } }).decision).toBe('keep_running');
  });

  it('cannot ship without success metrics', () => {
    const r = run({ successMetrics: [] });
    expect(r.decision).toBe('inconclusive');
    expect(r.blockers).toContain('no success metric is defined, so nothing can justify shipping');
  });

  it('ships with no guardrails at all (every guardrail, vacuously, is non-inferior)', () => {
    expect(run({ guardrails: [] }).decision).toBe('ship');
  });

  it('throws RangeError on a success metric marked both better and worse', () => {
    expect(() => run({ successMetrics: [{ ...better, significantWorse: true }] })).toThrow(RangeError);
  });
});

describe('decide respects the plan (issue 9)', () => {
  const pending = [
    { kind: 'sample' as const, have: 9000, need: 12_000, expectedAt: '2026-11-05T00:00:00.000Z' },
    { kind: 'duration' as const, haveDays: 3, needDays: 7, metAt: '2026-11-09T00:00:00.000Z' },
  ];

  it('a winner keeps running while the sample or duration is pending, saying what and when', () => {
    const r = run({ quality: { srmMismatch: false, enoughData: false, pending } });
    expect(r.decision).toBe('keep_running');
    expect(r.pending).toEqual(pending);
    expect(r.blockers).toContain('planned sample pending: 9000 of 12000 units (75.0%), expected by 2026-11-05T00:00:00.000Z at the observed rate');
    expect(r.blockers).toContain('minimum duration pending: 3 of 7 whole days, met at 2026-11-09T00:00:00.000Z');
    expect(r.reasons[0]).toMatch(/^keep running: planned sample pending/);
  });

  it('a success metric worse waits for the plan; a guardrail worse does not', () => {
    expect(run({ successMetrics: [worse], quality: { srmMismatch: false, enoughData: false, pending } }).decision).toBe('keep_running');
    expect(run({ guardrails: [harmful], quality: { srmMismatch: false, enoughData: false, pending } }).decision).toBe('roll_back');
  });

  it('a no_deterioration guardrail needs no non-inferiority proof, but still rolls back when worse', () => {
    expect(run({ guardrails: [{ ...unproven, test: 'no_deterioration' }] }).decision).toBe('ship');
    expect(run({ guardrails: [{ ...harmful, test: 'no_deterioration' }] }).decision).toBe('roll_back');
  });

  it('a blind metric blocks ship, naming the metric and the arm', () => {
    const r = run({ quality: { ...good, blind: [{ metricId: 'crash_rate', role: 'guardrail', variant: 'treatment' }] } });
    expect(r.decision).toBe('keep_running');
    expect(r.blockers[0]).toMatch(/^guardrail metric crash_rate is blind in arm treatment/);
  });
});
