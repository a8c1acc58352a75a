import { normalQuantile } from './distributions.js';
import { boundaryCrossingProbabilities, groupSequentialBoundaries } from './group-sequential.js';

// Sample sizes for the method in force, so a plan delivers its stated power under the test that
// will actually judge it. Every case has the shape n = 2σ²(k + z_power)²/δ² per arm, where k is the
// critical multiple of the standard error the method's decision needs at the planned sample:
//   fixed horizon, two-sided     k = z_{1−α/2}                  (superiority)
//   fixed horizon, one-sided     k = z_{1−α}                    (non-inferiority; Chow, Shao & Wang §3.2)
//   always-valid, two-sided      k = c(α) below                  (superiority: the (1−α) sequence excludes 0)
//   always-valid, one-sided      k = c₁(α) below                 (non-inferiority: the one-sided sequence's bound)
//   group-sequential             n_fixed × R(K, α, power)        (superiority), k = b_K (non-inferiority)

/**
 * Half-width of the asymptotic confidence sequence (sequential.ts) in standard errors, at the n it is
 * tuned for: there x = nρ² = −2 ln α_tune + ln(−2 ln α_tune + 1) whatever n is, so
 * c = sqrt(2(x + 1)/x · (½ ln(1 + x) − ln α_level)). α_level is the level the p-value is compared with
 * (α/S after a Bonferroni split), α_tune the plan's α that sets ρ (compare-arms tunes with it).
 */
export function alwaysValidCritical(alphaLevel: number, alphaTune: number = alphaLevel): number {
  const twoLog = -2 * Math.log(alphaTune);
  const x = twoLog + Math.log(twoLog + 1);
  return Math.sqrt(((2 * (x + 1)) / x) * (0.5 * Math.log1p(x) - Math.log(alphaLevel)));
}

/**
 * Half-width of the one-sided sequence (oneSidedConfidenceSequence) in standard errors at the n it is
 * tuned for: ρ is tuned at 2α, so there x = nρ² = −2 ln(2α) + ln(−2 ln(2α) + 1) and
 * c₁ = sqrt(2(x + 1)/x · ln(1 + sqrt(x + 1)/(2α))). 2.779 at α = 0.05, against c(0.05) = 3.035.
 */
export function oneSidedAlwaysValidCritical(alpha: number): number {
  const twoLog = -2 * Math.log(2 * alpha);
  const x = twoLog + Math.log(twoLog + 1);
  return Math.sqrt(((2 * (x + 1)) / x) * Math.log1p(Math.sqrt(x + 1) / (2 * alpha)));
}

/** Per-arm units for a two-arm comparison whose decision needs estimate beyond critical·SE: 2σ²(k + z_power)²/δ², at least 2. */
export function sampleSizeForCritical(p: { variance: number; delta: number; critical: number; power: number }): number {
  if (!(p.variance >= 0) || !Number.isFinite(p.variance)) throw new RangeError(`variance must be finite and ≥ 0, got ${p.variance}`);
  if (!(Math.abs(p.delta) > 0) || !Number.isFinite(p.delta)) throw new RangeError(`delta must be finite and non-zero, got ${p.delta}`);
  if (!(p.power > 0 && p.power < 1)) throw new RangeError(`power must be in (0, 1), got ${p.power}`);
  const raw = (2 * p.variance * (p.critical + normalQuantile(p.power)) ** 2) / p.delta ** 2;
  // Shave rounding noise so an exact integer is not bumped up by one.
  return Math.max(2, Math.ceil(raw * (1 - 1e-12)));
}

/**
 * Total units over all arms for control vs one treatment at traffic shares w_C, w_T (of all units), when
 * the decision needs the estimate beyond critical·SE: N = (σ_C²/w_C + σ_T²/w_T)(k + z_power)²/δ², since
 * SE² = σ_C²/(w_C·N) + σ_T²/(w_T·N). Unrounded. With two equal arms and σ_C = σ_T it is twice 2σ²(k + z)²/δ².
 */
export function totalSampleSizeForCritical(p: {
  controlVariance: number;
  treatmentVariance: number;
  controlShare: number;
  treatmentShare: number;
  delta: number;
  critical: number;
  power: number;
}): number {
  for (const v of [p.controlVariance, p.treatmentVariance]) {
    if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`variance must be finite and ≥ 0, got ${v}`);
  }
  for (const w of [p.controlShare, p.treatmentShare]) if (!(w > 0 && w <= 1)) throw new RangeError(`share must be in (0, 1], got ${w}`);
  if (!(Math.abs(p.delta) > 0) || !Number.isFinite(p.delta)) throw new RangeError(`delta must be finite and non-zero, got ${p.delta}`);
  if (!(p.power > 0 && p.power < 1)) throw new RangeError(`power must be in (0, 1), got ${p.power}`);
  const perUnit = p.controlVariance / p.controlShare + p.treatmentVariance / p.treatmentShare;
  return (perUnit * (p.critical + normalQuantile(p.power)) ** 2) / p.delta ** 2;
}

const fractionsOf = (looks: number) => Array.from({ length: looks }, (_, i) => (i + 1) / looks);
const inflationMemo = new Map<string, number>();

/**
 * Max-sample inflation R of a two-sided Lan–DeMets O'Brien–Fleming design with K equal looks: the
 * drift θ at which the boundaries are crossed (upper side) with the given power, over the fixed
 * design's z_{1−α/2} + z_power, squared (Jennison & Turnbull 2000, §2.4; their Table 2.3 gives 1.028
 * for classic O'Brien–Fleming at K = 5, α = 0.05, power 0.8). Found by bisection on θ with the
 * exact crossing recursion of group-sequential.ts.
 */
export function groupSequentialInflation(looks: number, alpha: number, power: number): number {
  const key = `${looks}:${alpha}:${power}`;
  const memo = inflationMemo.get(key);
  if (memo !== undefined) return memo;
  const information = fractionsOf(looks);
  const b = groupSequentialBoundaries({ alpha, informationFractions: information });
  if (!b.ok) throw new RangeError(b.reason);
  const fixed = normalQuantile(1 - alpha / 2) + normalQuantile(power);
  const powerAt = (theta: number) => {
    const r = boundaryCrossingProbabilities({ information, upper: b.z, lower: b.z.map((z) => -z), theta, step: 0.05 });
    if (!r.ok) throw new RangeError(r.reason);
    return r.upper.reduce((s, p) => s + p, 0);
  };
  let lo = fixed;
  let hi = fixed * 1.5;
  for (let i = 0; i < 30 && hi - lo > 1e-6; i++) {
    const mid = (lo + hi) / 2;
    if (powerAt(mid) < power) lo = mid;
    else hi = mid;
  }
  const r = (hi / fixed) ** 2;
  inflationMemo.set(key, r);
  return r;
}

/** The last look's two-sided boundary |z| of a Lan–DeMets O'Brien–Fleming design with K equal looks (2.031 at K = 5, α = 0.05). */
export function groupSequentialFinalBoundary(looks: number, alpha: number): number {
  const b = groupSequentialBoundaries({ alpha, informationFractions: fractionsOf(looks) });
  if (!b.ok) throw new RangeError(b.reason);
  return b.z[looks - 1];
}
