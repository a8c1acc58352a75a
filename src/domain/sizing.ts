import { bucketsForPercent } from './assignment.js';
import type { SurfacePolicy } from './policy.js';
import type { ExperimentConfig, Metric, Surface } from './schemas.js';
import { normalQuantile } from './stats/distributions.js';
import {
  alwaysValidCritical,
  groupSequentialFinalBoundary,
  groupSequentialInflation,
  oneSidedAlwaysValidCritical,
  totalSampleSizeForCritical,
} from './stats/method-sizing.js';

/**
 * How many units an experiment needs and how long its ramp takes to get them: the one sizing that
 * the generator, validate_config's power findings, plan_power and the decision's "planned sample"
 * all read, so they cannot disagree. docs/stats.md ("Sizing") gives the formulas and sources.
 */

type AnalysisPlan = ExperimentConfig['analysisPlan'];
type Guardrail = ExperimentConfig['guardrails'][number];

/** What sizing reads of a config (plan_power sizes a sketch with no key or content). */
export type SizingConfig = Pick<ExperimentConfig, 'successMetrics' | 'guardrails' | 'analysisPlan' | 'allocationPercent' | 'rampPlan'> & {
  variants: { weight: number; isControl?: boolean }[];
};

export type SizingMethod = 'always-valid' | 'fixed-horizon' | 'group-sequential';

/** The inference method a plan asks for: looks → group-sequential, else sequential → always-valid, else fixed horizon. */
export const methodOf = (plan: Pick<AnalysisPlan, 'looks' | 'sequential'>): SizingMethod =>
  plan.looks ? 'group-sequential' : plan.sequential ? 'always-valid' : 'fixed-horizon';

/** One metric's need: a success metric's superiority test at the MDE, or a guardrail's test at its margin. */
export interface MetricNeed {
  metricId: string;
  role: 'success' | 'guardrail';
  test: 'superiority' | 'non_inferiority' | 'no_deterioration';
  /**
   * Units in the smallest arm when the whole experiment has the units this test needs (so the total is
   * requiredPerArm / smallest share; with equal weights, simply units per arm); null when the test needs
   * no planned sample (no_deterioration) or the metric has no usable baseline.
   */
  requiredPerArm: number | null;
  /** How it was computed, with the numbers (α, power after correction, margin or MDE, baseline). */
  note: string;
}

/** One ramp stage as planned: its allocation, the traffic it gets and the days it runs. */
export interface StagePlan {
  percent: number;
  unitsPerDay: number;
  /** Days at this stage: its minimum duration and the gate's units for a middle stage; the rest of the sample for the last. */
  days: number | null;
  reason: string;
}

export interface SampleSizing {
  needs: MetricNeed[];
  /** The largest need (what the plan must reach), per arm, and in total across arms by the smallest weight. */
  requiredPerArm: number;
  requiredTotal: number;
  /** The metric whose need is the largest. */
  bindingMetricId: string | null;
  stages: StagePlan[];
  /** Days from start to the planned sample through the ramp; null when some stage never gets there. */
  totalDays: number | null;
  /** Units the ramp delivers within analysisPlan.durationDays: the analysis tunes its sequence at min(requiredTotal, this). */
  deliverableTotal: number;
  /** The inference method the needs are sized for. */
  method: SizingMethod;
  /** α each success metric is sized at (the plan's α split across success metrics, Bonferroni). */
  successAlpha: number;
  /** Power each non-inferiority guardrail is sized at: 1 − β/(G + 1) with G guardrails and a success metric (1 − β/G without). */
  guardrailPower: number | null;
}

export interface SizingContext {
  surface: Surface;
  metrics: Map<string, Metric>;
  policy: SurfacePolicy;
}

/**
 * Inputs the schemas accept can ask for more units than a number holds (α or a weight share near 0, an
 * mde near 0, power near 1): sizing says so, naming the inputs, instead of returning Infinity or a
 * RangeError from the stats. Callers turn it into a typed error (plan_power, plan_experiment) or a
 * finding (validate_config's UNPLANNABLE).
 */
export class UnplannableError extends Error {
  constructor(
    readonly metricId: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnplannableError';
  }
}

/** What to change when a plan has no finite sample. */
export const UNPLANNABLE_FIX =
  'Ask for something a finite sample can show: a larger mde, a larger alpha, a power further from 1, or weights closer to equal (e.g. mde 0.05, alpha 0.05, power 0.8, weights [50, 50]).';

/** A need in units as a safe integer, or UnplannableError saying what asked for more. */
function planned(metricId: string, what: () => string, compute: () => number): number {
  let n = Number.NaN;
  try {
    n = compute();
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
  }
  if (!Number.isSafeInteger(n)) throw new UnplannableError(metricId, `no finite sample ${what()}`);
  return n;
}

/** The smallest arm's share of the traffic: it reaches a per-arm need last. */
export const smallestShare = (c: { variants: { weight: number }[] }) => {
  const w = c.variants.map((v) => v.weight);
  return Math.min(...w) / w.reduce((a, b) => a + b, 0);
};

/** Units per day the surface sends at `percent` (traffic follows the buckets actually owned, not the raw percent). */
export const unitsPerDayAt = (surface: Pick<Surface, 'dailyTraffic' | 'bucketCount'>, percent: number) =>
  (surface.dailyTraffic * bucketsForPercent(surface.bucketCount, percent)) / surface.bucketCount;

/** The allocations an experiment runs at, in order: the start, then each later ramp stage. */
export const rampPercents = (c: Pick<ExperimentConfig, 'allocationPercent' | 'rampPlan'>) => [c.allocationPercent, ...(c.rampPlan?.stages ?? [])];

/** The planned minimum duration in whole days: durationDays below a week, whole weeks from 7 days up (weekly cycles). */
export const requiredWholeDays = (durationDays: number) => (durationDays < 7 ? durationDays : 7 * Math.floor(durationDays / 7));

/** The absolute deterioration a guardrail tolerates, in the metric's unit: margin × |baseline| when relative. */
export const absoluteMargin = (g: Pick<Guardrail, 'margin' | 'marginType'>, reference: number) =>
  g.marginType === 'absolute' ? g.margin : g.margin * Math.abs(reference);

const usable = (m: Metric | undefined): m is Metric => !!m && m.baselineVariance > 0 && m.baselineMean !== 0;
const fmt = (x: number) => Number(x.toPrecision(4));

/** The sizing of a config: every metric's need, the largest, and the ramp's days per stage. */
export function sizeExperiment(c: SizingConfig, ctx: SizingContext): SampleSizing {
  const needs = metricNeeds(c, ctx.metrics);
  const binding = needs.reduce<MetricNeed | null>((a, b) => ((b.requiredPerArm ?? 0) > (a?.requiredPerArm ?? 0) ? b : a), null);
  const perArm = binding?.requiredPerArm ?? 0;
  const requiredTotal = totalFor(perArm, c, binding?.metricId ?? '');
  const ramp = rampDays(c, ctx.surface, requiredTotal);
  const plan = c.analysisPlan;
  const ni = c.guardrails.filter((g) => (g.test ?? 'non_inferiority') === 'non_inferiority').length;
  return {
    needs,
    requiredPerArm: perArm,
    requiredTotal,
    bindingMetricId: binding?.requiredPerArm ? binding.metricId : null,
    stages: ramp.stages,
    totalDays: ramp.totalDays,
    deliverableTotal: unitsWithin(c, ctx.surface, plan.durationDays),
    method: methodOf(plan),
    successAlpha: plan.alpha / Math.max(1, c.successMetrics.length),
    guardrailPower: ni > 0 ? guardrailPowerOf(plan.power, ni, c.successMetrics.length) : null,
  };
}

/** Units across arms when the smallest arm needs `perArm`; UnplannableError when that share is too small for a finite total. */
export function totalFor(perArm: number, c: { variants: { weight: number }[] }, metricId: string): number {
  const share = smallestShare(c);
  return planned(
    metricId,
    () => `reaches ${perArm} units in an arm that gets ${fmt(share)} of the traffic`,
    () => Math.ceil(perArm / share),
  );
}

/** Spotify's risk-aware power correction (confidence, multiple_comparison.add_adjusted_power): 1 − β/(G + 1), or 1 − β/G without success metrics. */
export const guardrailPowerOf = (power: number, guardrails: number, successMetrics: number) =>
  1 - (1 - power) / (successMetrics > 0 ? guardrails + 1 : guardrails);

/** Every success metric's and guardrail's need under the plan's method, for the config's allocation (two equal arms without variants). */
export function metricNeeds(
  c: Pick<ExperimentConfig, 'successMetrics' | 'guardrails' | 'analysisPlan'> & { variants?: { weight: number; isControl?: boolean }[] },
  metrics: Map<string, Metric>,
): MetricNeed[] {
  const plan = c.analysisPlan;
  const method = methodOf(plan);
  const S = c.successMetrics.length;
  const level = plan.alpha / Math.max(1, S);
  const shares = armShares(c.variants);
  const success = c.successMetrics.map((id): MetricNeed => {
    const m = metrics.get(id);
    if (!usable(m)) return { metricId: id, role: 'success', test: 'superiority', requiredPerArm: null, note: 'no usable baseline in the catalog' };
    const delta = plan.mde * Math.abs(m.baselineMean);
    const v = superiorityVariances(m, plan.mde);
    if (typeof v === 'string') return { metricId: id, role: 'success', test: 'superiority', requiredPerArm: null, note: v };
    const n = planned(
      id,
      () =>
        `detects an mde of ${plan.mde} on '${id}' (δ ${fmt(delta)}) at two-sided α ${fmt(level)}, power ${plan.power}, ${method}, smallest arm ${fmt(shares.smallest)} of the traffic`,
      () => {
        const critical = method === 'always-valid' ? alwaysValidCritical(level, plan.alpha) : normalQuantile(1 - level / 2);
        const need = smallestArmNeed(shares, v, delta, critical, plan.power);
        return method === 'group-sequential' ? Math.ceil(need * groupSequentialInflation(plan.looks!, level, plan.power)) : need;
      },
    );
    return {
      metricId: id,
      role: 'success',
      test: 'superiority',
      requiredPerArm: n,
      note: `${method}, two-sided α ${fmt(level)}${S > 1 ? ` (${plan.alpha}/${S})` : ''}, power ${plan.power}, mde ${plan.mde} relative (δ ${fmt(delta)} on baseline ${fmt(m.baselineMean)})${v.note}${shares.note}`,
    };
  });
  const G = c.guardrails.filter((g) => (g.test ?? 'non_inferiority') === 'non_inferiority').length;
  const gPower = guardrailPowerOf(plan.power, Math.max(1, G), S);
  const guardrails = c.guardrails.map((g): MetricNeed => {
    if (g.test === 'no_deterioration')
      return {
        metricId: g.metricId,
        role: 'guardrail',
        test: 'no_deterioration',
        requiredPerArm: null,
        note: 'judged only by "not significantly worse": needs no planned sample',
      };
    const m = metrics.get(g.metricId);
    if (!usable(m))
      return { metricId: g.metricId, role: 'guardrail', test: 'non_inferiority', requiredPerArm: null, note: 'no usable baseline in the catalog' };
    const delta = absoluteMargin(g, m.baselineMean);
    const critical = () =>
      method === 'always-valid'
        ? oneSidedAlwaysValidCritical(plan.alpha)
        : method === 'group-sequential'
          ? groupSequentialFinalBoundary(plan.looks!, plan.alpha)
          : normalQuantile(1 - plan.alpha);
    // True effect 0: both arms have the baseline variance (p₀(1 − p₀) for a conversion rate).
    const variance = baselineVarianceOf(m);
    const n = planned(
      g.metricId,
      () =>
        `shows '${g.metricId}' non-inferior at a margin of ${g.margin}${g.marginType === 'absolute' ? ' absolute' : ''} (δ ${fmt(delta)}) at one-sided α ${plan.alpha}, power ${fmt(gPower)}, ${method}, smallest arm ${fmt(shares.smallest)} of the traffic`,
      () => smallestArmNeed(shares, { control: variance, treatment: variance }, delta, critical(), gPower),
    );
    return {
      metricId: g.metricId,
      role: 'guardrail',
      test: 'non_inferiority',
      requiredPerArm: n,
      note: `${method}, one-sided at α ${plan.alpha}, power ${fmt(gPower)} (1 − β/${S > 0 ? G + 1 : G}), true effect 0, margin ${g.margin}${g.marginType === 'absolute' ? ' absolute' : ` relative (${fmt(delta)} on baseline ${fmt(m.baselineMean)})`}${shares.note}`,
    };
  });
  return [...success, ...guardrails];
}

interface ArmShares {
  control: number;
  treatments: number[];
  smallest: number;
  note: string;
}

/** Traffic shares of the control (isControl, else the first variant) and of each treatment; two equal arms without variants. */
function armShares(variants: { weight: number; isControl?: boolean }[] | undefined): ArmShares {
  if (!variants || variants.length < 2) return { control: 0.5, treatments: [0.5], smallest: 0.5, note: '' };
  const total = variants.reduce((a, v) => a + v.weight, 0);
  const index = Math.max(
    0,
    variants.findIndex((v) => v.isControl),
  );
  const w = variants.map((v) => v.weight / total);
  const treatments = w.filter((_, i) => i !== index);
  const equal = w.every((x) => Math.abs(x - w[0]) < 1e-12);
  return {
    control: w[index],
    treatments,
    smallest: Math.min(...w),
    note: equal ? '' : `; allocation control ${fmt(w[index])}, treatments ${treatments.map(fmt).join('/')}`,
  };
}

/**
 * The smallest arm's units when the experiment has the largest total any control-vs-treatment comparison
 * needs: N = (σ_C²/w_C + σ_T²/w_T)(k + z_power)²/δ² (method-sizing.ts); equal arms give 2σ²(k + z)²/δ².
 */
function smallestArmNeed(shares: ArmShares, v: { control: number; treatment: number }, delta: number, critical: number, power: number): number {
  const total = Math.max(
    ...shares.treatments.map((w) =>
      totalSampleSizeForCritical({
        controlVariance: v.control,
        treatmentVariance: v.treatment,
        controlShare: shares.control,
        treatmentShare: w,
        delta,
        critical,
        power,
      }),
    ),
  );
  // Shave rounding noise so an exact integer is not bumped up by one; at least 2 (the Welch minimum).
  return Math.max(2, Math.ceil(total * shares.smallest * (1 - 1e-12)));
}

/** Per-unit baseline variance: p₀(1 − p₀) for a conversion rate (the proportion test's moment), else the catalog's. */
const baselineVarianceOf = (m: Metric) => (m.kind === 'binary' ? m.baselineMean * (1 - m.baselineMean) : m.baselineVariance);

/**
 * Arm variances under H1 for a superiority test at the MDE. A conversion rate moves to
 * p₁ = p₀(1 ± mde) in the metric's good direction, so treatment has p₁(1 − p₁) (spotify/confidence
 * `_get_hypothetical_treatment_var`); using p₀(1 − p₀) for both left plans ~4% short for p₀ = 10%.
 */
function superiorityVariances(m: Metric, mde: number): { control: number; treatment: number; note: string } | string {
  if (m.kind !== 'binary') return { control: m.baselineVariance, treatment: m.baselineVariance, note: '' };
  const p0 = m.baselineMean;
  const p1 = p0 * (1 + (m.direction === 'decrease' ? -mde : mde));
  if (!(p0 > 0 && p0 < 1) || !(p1 > 0 && p1 < 1)) return `a conversion rate of ${fmt(p0)} cannot move by ${mde} relative (p₁ = ${fmt(p1)} is outside (0, 1))`;
  return { control: p0 * (1 - p0), treatment: p1 * (1 - p1), note: `, σ² p₀(1−p₀) ${fmt(p0 * (1 - p0))} control, p₁(1−p₁) ${fmt(p1 * (1 - p1))} treatment` };
}

/**
 * The ramp's days to `requiredTotal` units: a middle stage runs max(rampPlan.minHours (24 h), the
 * time its gate needs to see minUnitsPerArm (100) units per arm); units accumulate across stages;
 * the last stage runs until the total is reached (or the stage where it is reached ends the count).
 */
export function rampDays(
  c: Pick<SizingConfig, 'allocationPercent' | 'rampPlan' | 'variants'>,
  surface: Pick<Surface, 'dailyTraffic' | 'bucketCount'>,
  requiredTotal: number,
): { stages: StagePlan[]; totalDays: number | null } {
  const percents = rampPercents(c);
  const minDays = (c.rampPlan?.minHours ?? 24) / 24;
  const gateTotal = (c.rampPlan?.gate?.minUnitsPerArm ?? 100) / smallestShare(c);
  const stages: StagePlan[] = [];
  let units = 0;
  let total: number | null = 0;
  for (const [i, percent] of percents.entries()) {
    const perDay = unitsPerDayAt(surface, percent);
    const last = i === percents.length - 1;
    const toSample = perDay > 0 ? Math.max(0, requiredTotal - units) / perDay : requiredTotal > units ? Infinity : 0;
    const base = { percent, unitsPerDay: Math.floor(perDay) };
    if (total !== null && units >= requiredTotal && requiredTotal > 0) {
      stages.push({ ...base, days: 0, reason: 'the planned sample is reached before this stage' });
      continue;
    }
    let days: number;
    let reason: string;
    if (last) {
      days = toSample;
      reason = `runs until the planned ${requiredTotal} units are reached`;
    } else {
      const toGate = perDay > 0 ? Math.max(0, gateTotal - units) / perDay : Infinity;
      days = Math.max(minDays, toGate);
      reason = toGate > minDays ? `the gate's units per arm take ${round(toGate)} days` : `the stage's minimum ${round(minDays * 24)} hours`;
      if (toSample <= days) {
        days = Math.max(toSample, 0);
        reason = `the planned ${requiredTotal} units are reached in this stage`;
      }
    }
    if (!Number.isFinite(days)) {
      stages.push({ ...base, days: null, reason: 'no traffic at this allocation: the stage never ends' });
      total = null;
      continue;
    }
    units += days * perDay;
    if (total !== null) total += days;
    stages.push({ ...base, days: round(days), reason });
  }
  return { stages, totalDays: total === null ? null : Math.ceil(total * (1 - 1e-9)) };
}

/** Units the ramp has delivered after `days` days (stage minimums and gates as rampDays plans them). */
export function unitsWithin(
  c: Pick<SizingConfig, 'allocationPercent' | 'rampPlan' | 'variants'>,
  surface: Pick<Surface, 'dailyTraffic' | 'bucketCount'>,
  days: number,
): number {
  const { stages } = rampDays(c, surface, Number.MAX_SAFE_INTEGER);
  let left = days;
  let units = 0;
  for (const s of stages) {
    const d = s.days === null ? left : Math.min(left, s.days);
    units += d * unitsPerDayAt(surface, s.percent);
    left -= d;
    if (left <= 0) break;
  }
  return Math.floor(units);
}

const round = (x: number) => Math.round(x * 100) / 100;
