import { normalCdf, normalQuantile } from './distributions.js';
import { boundaryCrossingProbabilities, groupSequentialBoundaries } from './group-sequential.js';
import { groupSequentialInflation } from './method-sizing.js';

/**
 * A fixed sample, the other way round from sizing: the power at an effect, or the effect detectable
 * at a power, for control vs one treatment with traffic shares w_C, w_T of totalUnits. The decision needs
 * the estimate beyond critical·SE, SE² = σ_C²/(w_C·N) + σ_T²/(w_T·N) (the sizing formula of
 * totalSampleSizeForCritical solved for power or δ). Power counts the effect's side only, as the sizing
 * formula and R's power.t.test(strict = FALSE) do; the opposite side adds < Φ(−k) (statsmodels includes it).
 */
export interface SampleDesign {
  totalUnits: number;
  controlShare: number;
  treatmentShare: number;
  controlVariance: number;
  treatmentVariance: number;
}

/** Standard error of treatment − control for the design. */
export function designStandardError(d: SampleDesign): number {
  if (!(d.totalUnits > 0) || !Number.isFinite(d.totalUnits)) throw new RangeError(`totalUnits must be a positive number, got ${d.totalUnits}`);
  for (const w of [d.controlShare, d.treatmentShare]) if (!(w > 0 && w <= 1)) throw new RangeError(`share must be in (0, 1], got ${w}`);
  for (const v of [d.controlVariance, d.treatmentVariance])
    if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`variance must be finite and ≥ 0, got ${v}`);
  return Math.sqrt(d.controlVariance / (d.controlShare * d.totalUnits) + d.treatmentVariance / (d.treatmentShare * d.totalUnits));
}

/** Φ(|δ|/SE − critical): the chance the estimate clears critical·SE on the effect's side. */
export function powerAtSample(d: SampleDesign & { delta: number; critical: number }): number {
  return normalCdf(Math.abs(d.delta) / designStandardError(d) - d.critical);
}

/** (critical + z_power)·SE: the absolute effect detected with the given power. */
export function mdeAtSample(d: SampleDesign & { critical: number; power: number }): number {
  if (!(d.power > 0 && d.power < 1)) throw new RangeError(`power must be in (0, 1), got ${d.power}`);
  return (d.critical + normalQuantile(d.power)) * designStandardError(d);
}

/**
 * Group-sequential (Lan–DeMets O'Brien–Fleming, K equal looks, two-sided level): the probability of crossing
 * the upper boundary at some look when the drift at the last look is |δ|/SE(N) (gsDesign's gsProbability).
 */
export function groupSequentialPowerAtSample(d: SampleDesign & { delta: number; looks: number; alpha: number }): number {
  const information = Array.from({ length: d.looks }, (_, i) => (i + 1) / d.looks);
  const b = groupSequentialBoundaries({ alpha: d.alpha, informationFractions: information });
  if (!b.ok) throw new RangeError(b.reason);
  const theta = Math.abs(d.delta) / designStandardError(d);
  const r = boundaryCrossingProbabilities({ information, upper: b.z, lower: b.z.map((z) => -z), theta, step: 0.05 });
  if (!r.ok) throw new RangeError(r.reason);
  return Math.min(
    1,
    r.upper.reduce((s, p) => s + p, 0),
  );
}

/** Group-sequential MDE: the drift (z_{1−α/2} + z_power)·√R(K, α, power) times SE(N). */
export function groupSequentialMdeAtSample(d: SampleDesign & { looks: number; alpha: number; power: number }): number {
  const fixed = normalQuantile(1 - d.alpha / 2) + normalQuantile(d.power);
  return fixed * Math.sqrt(groupSequentialInflation(d.looks, d.alpha, d.power)) * designStandardError(d);
}
