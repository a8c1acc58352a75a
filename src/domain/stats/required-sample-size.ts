import { normalQuantile } from './distributions.js';

/** Planning inputs for a two-arm mean comparison; mde is relative to baselineMean unless mdeKind is 'absolute'. */
export interface SampleSizeParams {
  baselineMean: number;
  /** Per-unit variance in control (σ_C²). */
  baselineVariance: number;
  mde: number;
  mdeKind?: 'relative' | 'absolute';
  alpha?: number;
  power?: number;
  twoSided?: boolean;
  /** Per-unit variance in treatment under H1 (σ_T²); default baselineVariance. Conversion rates: binaryVariance(p₁). */
  treatmentVariance?: number;
  /** Treatment units per control unit, n_T/n_C (e.g. 0.25 for an 80/20 split); default 1. */
  allocationRatio?: number;
}

/** Units each arm needs; `total` is their sum. */
export interface ArmSampleSizes {
  control: number;
  treatment: number;
  total: number;
}

/**
 * Units per arm to detect the MDE with unequal variances and allocation: with r = n_T/n_C,
 * n_C = (σ_C² + σ_T²/r)·(z_{1−α/2} + z_{power})²/δ² and n_T = r·n_C (z_{1−α} one-sided), each rounded
 * up and at least 2 (the Welch test's minimum). Throws RangeError on inputs a caller should have validated.
 */
export function requiredSampleSizes(p: SampleSizeParams): ArmSampleSizes {
  const { baselineMean, baselineVariance, mde, mdeKind = 'relative', alpha = 0.05, power = 0.8, twoSided = true } = p;
  const treatmentVariance = p.treatmentVariance ?? baselineVariance;
  const ratio = p.allocationRatio ?? 1;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(power > 0 && power < 1)) throw new RangeError(`power must be in (0, 1), got ${power}`);
  for (const [name, v] of [
    ['baselineVariance', baselineVariance],
    ['treatmentVariance', treatmentVariance],
  ] as const) {
    if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be a finite number ≥ 0, got ${v}`);
  }
  if (!(ratio > 0) || !Number.isFinite(ratio)) throw new RangeError(`allocationRatio must be finite and > 0, got ${ratio}`);
  if (!Number.isFinite(mde) || mde === 0) throw new RangeError(`mde must be a finite non-zero number, got ${mde}`);
  if (mdeKind === 'relative' && (!Number.isFinite(baselineMean) || baselineMean === 0)) {
    throw new RangeError('a relative mde needs a finite non-zero baselineMean; use mdeKind "absolute"');
  }

  const delta = mdeKind === 'relative' ? Math.abs(mde * baselineMean) : Math.abs(mde);
  const zAlpha = normalQuantile(twoSided ? 1 - alpha / 2 : 1 - alpha);
  const zPower = normalQuantile(power);
  const rawControl = ((baselineVariance + treatmentVariance / ratio) * (zAlpha + zPower) ** 2) / delta ** 2;
  // Shave rounding noise so an exact integer (e.g. 100.00000000000001) is not bumped up by one.
  const up = (x: number) => Math.max(2, Math.ceil(x * (1 - 1e-12)));
  const control = up(rawControl);
  const treatment = up(rawControl * ratio);
  return { control, treatment, total: control + treatment };
}

/** Users per arm (the larger arm's need; with equal allocation and variances n = 2·(z_{1−α/2} + z_{power})²·σ²/δ²). */
export function requiredSampleSizePerArm(p: SampleSizeParams): number {
  const n = requiredSampleSizes(p);
  return Math.max(n.control, n.treatment);
}

/**
 * Sample sizes for a conversion rate p₀: the control arm's variance is p₀(1 − p₀) and the treatment
 * arm's, under H1, p₁(1 − p₁) with p₁ = p₀(1 + mde) (relative) or p₀ + mde (absolute): the sign of
 * mde is the direction of the effect to detect (spotify/confidence `_get_hypothetical_treatment_var`).
 */
export function proportionSampleSizes(
  p: Omit<SampleSizeParams, 'baselineMean' | 'baselineVariance' | 'treatmentVariance'> & { baselineRate: number },
): ArmSampleSizes {
  const { baselineRate: p0, mde, mdeKind = 'relative' } = p;
  if (!(p0 > 0 && p0 < 1)) throw new RangeError(`baselineRate must be in (0, 1), got ${p0}`);
  const p1 = mdeKind === 'relative' ? p0 * (1 + mde) : p0 + mde;
  if (!(p1 >= 0 && p1 <= 1)) throw new RangeError(`the mde takes the rate outside [0, 1] (p₁ = ${p1})`);
  return requiredSampleSizes({ ...p, baselineMean: p0, baselineVariance: p0 * (1 - p0), treatmentVariance: p1 * (1 - p1) });
}
