// Calibration by simulation of sealab's sequential methods (not a test; prints its figures).
//
//   npx tsx bench/calibrate.ts [--sims 10000] [--days 28] [--peeks-per-day 1] [--seed 20240601] [--alpha 0.05]
//                              [--only normal,conversion,quantile,proportions]
//
// For each metric (a normal metric and a conversion metric) it plans an experiment with
// requiredSampleSizePerArm (power 0.8 at the MDE), spreads the planned units evenly over the days,
// and simulates `sims` A/A experiments (no effect) and `sims` A/B experiments (true effect = MDE).
// Each day's new units are drawn as sufficient statistics, never event by event: a normal arm-day of
// m units is (Σx, Σx²) with Σx ~ N(mμ, mσ²) and Σ(x − x̄)² ~ σ²·χ²_{m−1}; a conversion arm-day is
// Binomial(m, p) successes (Σx² = Σx). The analysis is peeked at after every day and reports:
// false-positive rates (fixed horizon once, the same Welch test peeked daily, the always-valid
// confidence sequence peeked daily, O'Brien–Fleming group-sequential at 5 looks), power at the MDE,
// and coverage (fixed 95% interval at the end; the confidence sequence at every look at once).
// Rates carry 95% Wilson intervals.
//
// Issue 10 adds two sections. quantile: P90 of lognormal unit values (latency-like), drawn unit by unit
// into DDSketch-layout histograms merged day by day as the pipeline keeps them, and analysed through
// compareArms as get_metrics does (quantile test → always-valid sequence at every look; the fixed-horizon
// quantile test once at the end). proportions: the pooled z and the Yates χ² options of proportionTest
// read once at the planned n (and at a small n, where Yates' conservatism shows).
import { compareArms, type ArmStats, type InferenceSettings } from '../src/domain/analysis/compare-arms.js';
import { mergeSketches, sketchOf, type SketchBins } from '../src/domain/quantile-sketch.js';
import { normalQuantile } from '../src/domain/stats/distributions.js';
import {
  alwaysValidPValue,
  confidenceSequence,
  groupSequentialBoundaries,
  msprt,
  normalPdf,
  normalSf,
  oneSidedConfidenceSequence,
  proportionSampleSizes,
  proportionTest,
  requiredSampleSizePerArm,
  welchTest,
  type MeanSummary,
} from '../src/domain/stats/index.js';

interface Options {
  sims: number;
  days: number;
  peeksPerDay: number;
  seed: number;
  alpha: number;
  only: Set<Section>;
}

const SECTIONS = ['normal', 'conversion', 'quantile', 'proportions'] as const;
type Section = (typeof SECTIONS)[number];

interface MetricPlan {
  name: string;
  baselineMean: number;
  baselineVariance: number;
  mde: number; // relative
  /** Per-unit variance at a given mean (the treatment arm's differs for a conversion metric). */
  variance: (mean: number) => number;
  draw: (rng: Rng, units: number, mean: number) => MeanSummary;
}

const GS_LOOKS = 5;

// ---- seeded randomness (sfc32 seeded by splitmix32) ------------------------------------------

class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  private u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform on (0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.u32() >>> 5;
    const lo = this.u32() >>> 6;
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }

  /** Standard normal (Marsaglia polar method). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const q = u * u + v * v;
      if (q > 0 && q < 1) {
        const f = Math.sqrt((-2 * Math.log(q)) / q);
        this.spare = v * f;
        return u * f;
      }
    }
  }

  /** Gamma(shape, 1) for shape ≥ 1 (Marsaglia & Tsang 2000). */
  gamma(shape: number): number {
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  }

  /** Binomial(m, p) by geometric waiting times: O(m·p) uniforms. */
  binomial(m: number, p: number): number {
    const logQ = Math.log1p(-p);
    let successes = 0;
    let position = 0;
    for (;;) {
      position += Math.floor(Math.log(this.uniform()) / logQ) + 1;
      if (position > m) return successes;
      successes++;
    }
  }
}

const normalMetric: MetricPlan = {
  name: 'normal (mean 10, sd 5, MDE +2%)',
  baselineMean: 10,
  baselineVariance: 25,
  mde: 0.02,
  variance: () => 25,
  draw: (rng, m, mean) => {
    const sigma = 5;
    const sum = m * mean + sigma * Math.sqrt(m) * rng.normal();
    const centred = m > 1 ? sigma * sigma * 2 * rng.gamma((m - 1) / 2) : 0;
    return { n: m, sum, sumSquares: centred + (sum * sum) / m };
  },
};

const conversionMetric: MetricPlan = {
  name: 'conversion (p 10%, MDE +5%)',
  baselineMean: 0.1,
  baselineVariance: 0.09,
  mde: 0.05,
  variance: (p) => p * (1 - p),
  draw: (rng, m, p) => {
    const k = rng.binomial(m, p);
    return { n: m, sum: k, sumSquares: k };
  },
};

// ---- one metric: plan, simulate, count --------------------------------------------------------

interface Counts {
  fixedReject: number;
  peekedReject: number;
  csReject: number;
  csRelativeReject: number;
  gsReject: number;
  msprtReject: number;
  oneSidedReject: number;
  fixedCovered: number;
  peekedCoveredAll: number;
  csCoveredAll: number;
  csRelativeCoveredAll: number;
}

function simulateMetric(plan: MetricPlan, o: Options, effect: 0 | 1, seed: number): { counts: Counts; perArm: number } {
  // Sized as plans are: the treatment arm's variance at the MDE (p₁(1 − p₁) for a conversion rate).
  const perArm = requiredSampleSizePerArm({
    baselineMean: plan.baselineMean,
    baselineVariance: plan.baselineVariance,
    treatmentVariance: plan.variance(plan.baselineMean * (1 + plan.mde)),
    mde: plan.mde,
    alpha: o.alpha,
  });
  const looks = o.days * o.peeksPerDay;
  const cumulative = Array.from({ length: looks }, (_, i) => Math.round((perArm * (i + 1)) / looks));
  const tuningN = 2 * perArm;
  const gsLookAt = Array.from({ length: GS_LOOKS }, (_, k) => Math.round((looks * (k + 1)) / GS_LOOKS) - 1);
  const gs = groupSequentialBoundaries({ alpha: o.alpha, informationFractions: gsLookAt.map((i) => cumulative[i] / perArm) });
  if (!gs.ok) throw new Error(gs.reason);
  const delta = effect * plan.mde * plan.baselineMean;
  const relativeTruth = delta / plan.baselineMean;
  const tau2 = (plan.mde * plan.baselineMean) ** 2;
  const rng = new Rng(seed);
  const counts: Counts = {
    fixedReject: 0,
    peekedReject: 0,
    csReject: 0,
    csRelativeReject: 0,
    gsReject: 0,
    msprtReject: 0,
    oneSidedReject: 0,
    fixedCovered: 0,
    peekedCoveredAll: 0,
    csCoveredAll: 0,
    csRelativeCoveredAll: 0,
  };
  for (let s = 0; s < o.sims; s++) {
    const control: MeanSummary = { n: 0, sum: 0, sumSquares: 0 };
    const treatment: MeanSummary = { n: 0, sum: 0, sumSquares: 0 };
    let peeked = false;
    let cs = false;
    let csRelative = false;
    let gsRejected = false;
    let msprtP = 1;
    let oneSided = false;
    let peekedCovered = true;
    let csCovered = true;
    let csRelativeCovered = true;
    let gsNext = 0;
    for (let i = 0; i < looks; i++) {
      const m = cumulative[i] - (i === 0 ? 0 : cumulative[i - 1]);
      add(control, plan.draw(rng, m, plan.baselineMean));
      add(treatment, plan.draw(rng, m, plan.baselineMean + delta));
      const w = welchTest(control, treatment, o.alpha);
      if (!w.ok) continue;
      const estimate = w.absolute.estimate;
      const n = control.n + treatment.n;
      const significantFixed = w.pValue < o.alpha;
      if (significantFixed) peeked = true;
      if (delta < w.absolute.lower || delta > w.absolute.upper) peekedCovered = false;
      // Significance from the always-valid p-value, coverage from the sequence (p < α ⇔ it excludes 0).
      const p = alwaysValidPValue({ estimate, standardError: w.standardError, n, tuningN, alpha: o.alpha });
      if (p.ok && p.pValue < o.alpha) cs = true;
      const seq = confidenceSequence({ estimate, standardError: w.standardError, n, tuningN, alpha: o.alpha });
      if (seq.ok && (delta < seq.lower || delta > seq.upper)) csCovered = false;
      if (w.relative !== null && w.relativeStandardError !== null) {
        const rel = confidenceSequence({ estimate: w.relative.estimate, standardError: w.relativeStandardError, n, tuningN, alpha: o.alpha });
        if (rel.ok && rel.significant) csRelative = true;
        if (rel.ok && (relativeTruth < rel.lower || relativeTruth > rel.upper)) csRelativeCovered = false;
      }
      // mSPRT with τ = the MDE in metric units (analysisPlan default: τ = mde·|baseline|); its p is the running minimum.
      const mix = msprt({ estimate, standardError: w.standardError, mixingVariance: tau2, alpha: o.alpha, previousPValue: msprtP });
      if (mix.ok) msprtP = mix.pValue;
      // One-sided sequence for "treatment is better" (H1: effect > 0), as a success metric with direction increase.
      const one = oneSidedConfidenceSequence({ estimate, standardError: w.standardError, n, tuningN, alpha: o.alpha, side: 'greater' });
      if (one.ok && one.significant) oneSided = true;
      if (gsNext < GS_LOOKS && i === gsLookAt[gsNext]) {
        if (Math.abs(estimate / w.standardError) >= gs.z[gsNext]) gsRejected = true;
        gsNext++;
      }
      if (i === looks - 1) {
        if (significantFixed) counts.fixedReject++;
        if (delta >= w.absolute.lower && delta <= w.absolute.upper) counts.fixedCovered++;
      }
    }
    // Power counts only rejections in the right direction; under A/A any rejection is a false positive.
    const sign = Math.sign(treatment.sum / treatment.n - control.sum / control.n);
    const right = effect === 0 || sign > 0;
    if (peeked) counts.peekedReject++;
    if (cs && right) counts.csReject++;
    if (csRelative && right) counts.csRelativeReject++;
    if (gsRejected && right) counts.gsReject++;
    if (msprtP <= o.alpha && right) counts.msprtReject++;
    if (oneSided) counts.oneSidedReject++; // one-sided: only the 'greater' side can reject
    if (peekedCovered) counts.peekedCoveredAll++;
    if (csCovered) counts.csCoveredAll++;
    if (csRelativeCovered) counts.csRelativeCoveredAll++;
  }
  return { counts, perArm };
}

/** Two-sided power of the fixed-horizon z test at the end, from the arms' true variances. */
function plannedPower(plan: MetricPlan, perArm: number, alpha: number): number {
  const treatmentMean = plan.baselineMean * (1 + plan.mde);
  const se = Math.sqrt((plan.variance(plan.baselineMean) + plan.variance(treatmentMean)) / perArm);
  const shift = (treatmentMean - plan.baselineMean) / se;
  const z = normalQuantile(1 - alpha / 2);
  return normalSf(z - shift) + normalSf(z + shift);
}

function add(total: MeanSummary, day: MeanSummary): void {
  total.n += day.n;
  total.sum += day.sum;
  total.sumSquares += day.sumSquares;
}

// ---- quantile metric: unit values → histograms → compareArms (as get_metrics) ------------------

/** P90 of lognormal unit values, latency-like: mean 320 ms, sd 80 ms (the demo's latency-p90). */
const quantilePlan = { name: 'quantile (P90 of lognormal latency, MDE +5%)', nu: 0.9, mu: Math.log(320) - 0.03, sigma: 0.246, mde: 0.05 };

/** The true ν-quantile ξ and the sample quantile's per-unit variance ν(1 − ν)/f(ξ)² of the lognormal. */
function lognormalQuantile(mu: number, sigma: number, nu: number): { xi: number; variance: number } {
  const z = normalQuantile(nu);
  const xi = Math.exp(mu + sigma * z);
  const density = normalPdf(z) / (xi * sigma);
  return { xi, variance: (nu * (1 - nu)) / density ** 2 };
}

interface QuantileCounts {
  fixedReject: number;
  csReject: number;
  csCoveredAll: number;
  /** Looks where compareArms returned not_computable (early days below the minimum sample, skipped). */
  notComputableLooks: number;
}

function quantilePerArm(alpha: number): { perArm: number; xi: number } {
  const q = quantilePlan;
  const { xi, variance } = lognormalQuantile(q.mu, q.sigma, q.nu);
  // Treatment values are control's × (1 + mde): the quantile and its SD scale alike.
  const perArm = requiredSampleSizePerArm({ baselineMean: xi, baselineVariance: variance, treatmentVariance: variance * (1 + q.mde) ** 2, mde: q.mde, alpha });
  return { perArm, xi };
}

function simulateQuantile(o: Options, effect: 0 | 1, seed: number): QuantileCounts {
  const q = quantilePlan;
  const { perArm, xi } = quantilePerArm(o.alpha);
  const looks = o.days * o.peeksPerDay;
  const cumulative = Array.from({ length: looks }, (_, i) => Math.round((perArm * (i + 1)) / looks));
  const scale = 1 + effect * q.mde;
  const delta = xi * (scale - 1);
  const metric = { kind: 'quantile' as const, quantile: q.nu };
  const settings = (method: InferenceSettings['method'], observedTotal: number): InferenceSettings => ({
    method,
    alpha: o.alpha,
    cuped: false,
    plannedTotal: 2 * perArm,
    observedTotal,
  });
  const rng = new Rng(seed);
  const counts: QuantileCounts = { fixedReject: 0, csReject: 0, csCoveredAll: 0, notComputableLooks: 0 };
  const day = (m: number, factor: number): SketchBins => sketchOf(Array.from({ length: m }, () => factor * Math.exp(q.mu + q.sigma * rng.normal())));
  const armStats = (n: number, sketch: SketchBins): ArmStats => ({ n, sumX: 0, sumX2: 0, sumY: 0, sumY2: 0, sumXY: 0, sketch });
  for (let s = 0; s < o.sims; s++) {
    let control: SketchBins = [];
    let treatment: SketchBins = [];
    let rejected = false;
    let covered = true;
    let estimate = 0;
    for (let i = 0; i < looks; i++) {
      const m = cumulative[i] - (i === 0 ? 0 : cumulative[i - 1]);
      control = mergeSketches(control, day(m, 1));
      treatment = mergeSketches(treatment, day(m, scale));
      const n = cumulative[i];
      const c = armStats(n, control);
      const t = armStats(n, treatment);
      const r = compareArms(metric, c, t, settings('always-valid', 2 * n));
      if (!r.ok) {
        counts.notComputableLooks++;
        continue;
      }
      estimate = r.absolute.estimate;
      if (r.significant) rejected = true;
      if (delta < r.absolute.lower || delta > r.absolute.upper) covered = false;
      if (i === looks - 1) {
        const f = compareArms(metric, c, t, settings('fixed-horizon', 2 * n));
        if (f.ok && f.significant && (effect === 0 || f.absolute.estimate > 0)) counts.fixedReject++;
      }
    }
    if (rejected && (effect === 0 || estimate > 0)) counts.csReject++;
    if (covered) counts.csCoveredAll++;
  }
  return counts;
}

// ---- proportions: pooled z and Yates χ² read once -----------------------------------------------

const PROPORTION_KINDS = ['unpooled', 'pooled', 'chi2'] as const;
type ProportionCounts = Record<(typeof PROPORTION_KINDS)[number], number>;

/** Rejections of each proportions option on the same simulated experiments (one read at n per arm). */
function simulateProportions(o: Options, n: number, p: number, mde: number, effect: 0 | 1, seed: number): ProportionCounts {
  const rng = new Rng(seed);
  const pT = p * (1 + effect * mde);
  const counts: ProportionCounts = { unpooled: 0, pooled: 0, chi2: 0 };
  for (let s = 0; s < o.sims; s++) {
    const control = { n, successes: rng.binomial(n, p) };
    const treatment = { n, successes: rng.binomial(n, pT) };
    for (const kind of PROPORTION_KINDS) {
      const r = proportionTest(control, treatment, o.alpha, kind);
      if (r.ok && r.significant && (effect === 0 || r.absolute.estimate > 0)) counts[kind]++;
    }
  }
  return counts;
}

const proportionsPlan = { baselineRate: 0.1, mde: 0.05, smallN: 200 };

// ---- reporting ---------------------------------------------------------------------------------

/** Wilson score interval; z = 1.96 for 95%. */
function wilson(successes: number, n: number, z = 1.959963984540054): [number, number] {
  const p = successes / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

type Target = { kind: 'atMost' | 'about' | 'atLeast' | 'report'; value: number };

function row(label: string, successes: number, n: number, target: Target): string {
  const rate = successes / n;
  const [lo, hi] = wilson(successes, n);
  // The verdict reads the 99.9% interval: with ~14 checks per run, 95% would flag one by chance in half the runs.
  const [vlo, vhi] = wilson(successes, n, 3.2905267314919255);
  const verdict =
    target.kind === 'atMost'
      ? vlo <= target.value
      : target.kind === 'atLeast'
        ? vhi >= target.value
        : target.kind === 'about'
          ? vlo <= target.value && target.value <= vhi
          : null;
  const sign = target.kind === 'atMost' ? '≤' : target.kind === 'atLeast' ? '≥' : '≈';
  const targetText = target.kind === 'report' ? 'report' : `${sign} ${Number(target.value.toFixed(3))}`;
  return [
    label.padEnd(58),
    rate.toFixed(4).padStart(7),
    `[${lo.toFixed(4)}, ${hi.toFixed(4)}]`.padStart(18),
    targetText.padStart(9),
    (verdict === null ? '' : verdict ? 'ok' : 'CHECK').padStart(6),
  ].join('  ');
}

function parseOptions(argv: string[]): Options {
  const o: Options = { sims: 10000, days: 28, peeksPerDay: 1, seed: 20240601, alpha: 0.05, only: new Set(SECTIONS) };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--only') {
      const names = (argv[i + 1] ?? '').split(',').filter((x) => x !== '');
      const unknown = names.filter((x) => !(SECTIONS as readonly string[]).includes(x));
      if (names.length === 0 || unknown.length > 0) throw new Error(`--only takes a comma-separated list of ${SECTIONS.join(', ')}`);
      o.only = new Set(names as Section[]);
      continue;
    }
    const value = Number(argv[i + 1]);
    if (!Number.isFinite(value)) throw new Error(`flag ${argv[i]} needs a number`);
    if (argv[i] === '--sims') o.sims = Math.floor(value);
    else if (argv[i] === '--days') o.days = Math.floor(value);
    else if (argv[i] === '--peeks-per-day') o.peeksPerDay = Math.floor(value);
    else if (argv[i] === '--seed') o.seed = Math.floor(value);
    else if (argv[i] === '--alpha') o.alpha = value;
    else throw new Error(`unknown flag ${argv[i]}; use --sims, --days, --peeks-per-day, --seed, --alpha, --only`);
  }
  if (o.sims < 1 || o.peeksPerDay < 1 || o.days * o.peeksPerDay < GS_LOOKS || !(o.alpha > 0 && o.alpha < 1)) {
    throw new Error(`need --sims ≥ 1, at least ${GS_LOOKS} peeks in all (--days × --peeks-per-day) and 0 < --alpha < 1`);
  }
  return o;
}

const HEADER = `${'measure'.padEnd(58)}  ${'rate'.padStart(7)}  ${'95% Wilson'.padStart(18)}  ${'target'.padStart(9)}  ${'check'.padStart(6)}`;

function reportQuantile(o: Options): void {
  const looks = o.days * o.peeksPerDay;
  const n = o.sims;
  const a = o.alpha;
  // Seeds apart from the normal/conversion sections' (seed + 0…3), so --only does not change any figure.
  const aa = simulateQuantile(o, 0, o.seed + 10);
  const ab = simulateQuantile(o, 1, o.seed + 11);
  const { perArm, xi } = quantilePerArm(a);
  const { variance } = lognormalQuantile(quantilePlan.mu, quantilePlan.sigma, quantilePlan.nu);
  const se = Math.sqrt((variance * (1 + (1 + quantilePlan.mde) ** 2)) / perArm);
  const z = normalQuantile(1 - a / 2);
  const shift = (xi * quantilePlan.mde) / se;
  const power = normalSf(z - shift) + normalSf(z + shift);
  console.log(`${quantilePlan.name}: ${perArm} units per arm planned (power 0.8), tuningN = ${2 * perArm}`);
  console.log(`  true P90 ${xi.toFixed(1)} ms, per-unit variance ν(1 − ν)/f(ξ)² = ${variance.toFixed(0)}; normal-theory power ${power.toFixed(3)}`);
  console.log(`  histograms: γ = 1.01 bins, merged daily; analysis: compareArms (always-valid, then fixed-horizon at the end)`);
  const skipped = (aa.notComputableLooks + ab.notComputableLooks) / (2 * n);
  console.log(`  looks not computable (below the minimum sample), skipped: ${skipped.toFixed(2)} per experiment on average`);
  console.log(HEADER);
  console.log(row('A/A false positives: quantile test, one look at the end', aa.fixedReject, n, { kind: 'about', value: a }));
  console.log(row(`A/A false positives: confidence sequence, ${looks} peeks`, aa.csReject, n, { kind: 'atMost', value: a }));
  console.log(row('A/B power at +5%: quantile test, fixed horizon at the end', ab.fixedReject, n, { kind: 'about', value: power }));
  console.log(row(`A/B power at +5%: confidence sequence, ${looks} peeks`, ab.csReject, n, { kind: 'report', value: 0 }));
  console.log(row(`A/B coverage: confidence sequence at all ${looks} peeks at once`, ab.csCoveredAll, n, { kind: 'atLeast', value: 1 - a }));
  console.log('');
}

function reportProportions(o: Options): void {
  const { baselineRate: p, mde, smallN } = proportionsPlan;
  const sizes = proportionSampleSizes({ baselineRate: p, mde, alpha: o.alpha });
  const planned = Math.max(sizes.control, sizes.treatment);
  const n = o.sims;
  const a = o.alpha;
  const aa = simulateProportions(o, planned, p, mde, 0, o.seed + 20);
  const ab = simulateProportions(o, planned, p, mde, 1, o.seed + 21);
  const small = simulateProportions(o, smallN, p, mde, 0, o.seed + 22);
  console.log(`proportions options (p 10%, MDE +5%): ${planned} units per arm planned (power 0.8); fixed horizon, one read at the end`);
  console.log(`  the same experiments are tested by each option; the interval is the unpooled Wald one throughout`);
  console.log(HEADER);
  const label: Record<(typeof PROPORTION_KINDS)[number], string> = { unpooled: 'unpooled z (default)', pooled: 'pooled z', chi2: 'χ² with Yates' };
  for (const kind of PROPORTION_KINDS) {
    const target: Target = kind === 'unpooled' ? { kind: 'about', value: a } : { kind: 'atMost', value: a };
    console.log(row(`A/A false positives: ${label[kind]}, n ${planned}`, aa[kind], n, target));
  }
  for (const kind of PROPORTION_KINDS) {
    const target: Target = kind === 'unpooled' ? { kind: 'report', value: 0 } : { kind: 'atMost', value: a };
    console.log(row(`A/A false positives: ${label[kind]}, n ${smallN}`, small[kind], n, target));
  }
  for (const kind of PROPORTION_KINDS) {
    console.log(row(`A/B power at the MDE: ${label[kind]}, n ${planned}`, ab[kind], n, { kind: 'about', value: 0.8 }));
  }
  console.log('');
}

function main(): void {
  const o = parseOptions(process.argv.slice(2));
  const started = performance.now();
  const a = o.alpha;
  const looks = o.days * o.peeksPerDay;
  console.log(`sealab calibration: ${o.sims} A/A + ${o.sims} A/B experiments per metric, ${o.days} days, ${looks} peeks, α = ${a}, seed ${o.seed}`);
  console.log('tuningN (confidence sequence) = planned total units; group-sequential = Lan–DeMets O’Brien–Fleming at 5 equally spaced looks\n');
  [normalMetric, conversionMetric].forEach((plan, index) => {
    if (!o.only.has(index === 0 ? 'normal' : 'conversion')) return;
    const aa = simulateMetric(plan, o, 0, o.seed + 2 * index);
    const ab = simulateMetric(plan, o, 1, o.seed + 2 * index + 1);
    const n = o.sims;
    const power = plannedPower(plan, aa.perArm, a);
    console.log(`${plan.name}: ${aa.perArm} units per arm planned (power 0.8), tuningN = ${2 * aa.perArm}`);
    console.log(`  normal-theory power with both arms' true variances: ${power.toFixed(3)}`);
    console.log(HEADER);
    console.log(row('A/A false positives: fixed horizon, one look at the end', aa.counts.fixedReject, n, { kind: 'about', value: a }));
    console.log(row(`A/A false positives: Welch p < α at any of ${looks} peeks (naive)`, aa.counts.peekedReject, n, { kind: 'report', value: a }));
    console.log(row(`A/A false positives: confidence sequence, ${looks} peeks`, aa.counts.csReject, n, { kind: 'atMost', value: a }));
    console.log(row(`A/A false positives: conf. sequence on relative effect`, aa.counts.csRelativeReject, n, { kind: 'atMost', value: a }));
    console.log(row('A/A false positives: group-sequential OBF, 5 looks', aa.counts.gsReject, n, { kind: 'about', value: a }));
    console.log(row(`A/A false positives: mSPRT (τ = MDE), ${looks} peeks`, aa.counts.msprtReject, n, { kind: 'atMost', value: a }));
    console.log(row(`A/A false positives: one-sided sequence (>), ${looks} peeks`, aa.counts.oneSidedReject, n, { kind: 'atMost', value: a }));
    console.log(row('A/B power at the MDE: fixed horizon at the end', ab.counts.fixedReject, n, { kind: 'about', value: power }));
    console.log(row(`A/B power at the MDE: confidence sequence, ${looks} peeks`, ab.counts.csReject, n, { kind: 'report', value: 0 }));
    console.log(row('A/B power at the MDE: conf. sequence on relative effect', ab.counts.csRelativeReject, n, { kind: 'report', value: 0 }));
    console.log(row('A/B power at the MDE: group-sequential OBF, 5 looks', ab.counts.gsReject, n, { kind: 'report', value: 0 }));
    console.log(row(`A/B power at the MDE: mSPRT (τ = MDE), ${looks} peeks`, ab.counts.msprtReject, n, { kind: 'report', value: 0 }));
    console.log(row(`A/B power at the MDE: one-sided sequence (>), ${looks} peeks`, ab.counts.oneSidedReject, n, { kind: 'report', value: 0 }));
    console.log(row('A/B coverage: fixed 95% interval at the end', ab.counts.fixedCovered, n, { kind: 'about', value: 1 - a }));
    console.log(row(`A/B coverage: fixed 95% interval at all ${looks} peeks at once`, ab.counts.peekedCoveredAll, n, { kind: 'report', value: 0 }));
    console.log(row(`A/B coverage: confidence sequence at all ${looks} peeks at once`, ab.counts.csCoveredAll, n, { kind: 'atLeast', value: 1 - a }));
    console.log(row(`A/B coverage: conf. sequence on relative effect, all peeks`, ab.counts.csRelativeCoveredAll, n, { kind: 'atLeast', value: 1 - a }));
    console.log('');
  });
  if (o.only.has('quantile')) reportQuantile(o);
  if (o.only.has('proportions')) reportProportions(o);
  console.log('check: target inside the 99.9% Wilson interval (≤/≥: the interval reaches it); 95% intervals printed');
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main();
