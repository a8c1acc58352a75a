import { normalQuantile } from './distributions.js';

/** Planning inputs for a two-arm mean comparison; mde is relative to baselineMean unless mdeKind is 'absolute'. */
export interface SampleSizeParams {
  baselineMean: number;
  baselineVariance: number;
  mde: number;
  mdeKind?: 'relative' | 'absolute';
  alpha?: number;
  power?: number;
  twoSided?: boolean;
}

/**
 * Users per arm to detect the MDE: n = 2·(z_{1−α/2} + z_{power})²·σ²/δ² (z_{1−α} one-sided), rounded up,
 * at least 2 so that the Welch test can run. Throws RangeError on inputs a caller should have validated.
 */
export function requiredSampleSizePerArm(p: SampleSizeParams): number {
  const { baselineMean, baselineVariance, mde, mdeKind = 'relative', alpha = 0.05, power = 0.8, twoSided = true } = p;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(power > 0 && power < 1)) throw new RangeError(`power must be in (0, 1), got ${power}`);
  if (!(baselineVariance >= 0) || !Number.isFinite(baselineVariance)) {
    throw new RangeError(`baselineVariance must be a finite number ≥ 0, got ${baselineVariance}`);
  }
  if (!Number.isFinite(mde) || mde === 0) throw new RangeError(`mde must be a finite non-zero number, got ${mde}`);
  if (mdeKind === 'relative' && (!Number.isFinite(baselineMean) || baselineMean === 0)) {
    throw new RangeError('a relative mde needs a finite non-zero baselineMean; use mdeKind "absolute"');
  }

  const delta = mdeKind === 'relative' ? Math.abs(mde * baselineMean) : Math.abs(mde);
  const zAlpha = normalQuantile(twoSided ? 1 - alpha / 2 : 1 - alpha);
  const zPower = normalQuantile(power);
  const raw = (2 * (zAlpha + zPower) ** 2 * baselineVariance) / delta ** 2;
  // Shave rounding noise so an exact integer (e.g. 100.00000000000001) is not bumped up by one.
  return Math.max(2, Math.ceil(raw * (1 - 1e-12)));
}
