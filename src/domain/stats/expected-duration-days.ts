/** Planning inputs: units each arm needs, the arms' traffic weights, and new units entering per day. */
export interface DurationParams {
  requiredPerArm: number;
  weights: number[];
  dailyUnits: number;
}

/**
 * Whole days until every arm has requiredPerArm units: the smallest arm governs, so
 * days = ⌈requiredPerArm / (dailyUnits · min_i w_i/Σw)⌉. dailyUnits counts *new* units exposed per day
 * (returning units do not add to n). Throws RangeError on inputs a caller should have validated.
 */
export function expectedDurationDays(p: DurationParams): number {
  const { requiredPerArm, weights, dailyUnits } = p;
  if (!(requiredPerArm >= 0) || !Number.isFinite(requiredPerArm)) {
    throw new RangeError(`requiredPerArm must be a finite number ≥ 0, got ${requiredPerArm}`);
  }
  if (weights.length < 2) throw new RangeError('weights needs at least 2 arms');
  if (!weights.every((w) => Number.isFinite(w) && w > 0)) throw new RangeError('weights must be finite and positive');
  if (!(dailyUnits > 0) || !Number.isFinite(dailyUnits)) throw new RangeError(`dailyUnits must be a finite positive number, got ${dailyUnits}`);

  const total = weights.reduce((a, b) => a + b, 0);
  const smallestShare = Math.min(...weights) / total;
  const raw = requiredPerArm / (dailyUnits * smallestShare);
  // Shave rounding noise so an exact whole number of days (e.g. 10.000000000000002) is not bumped up.
  return Math.ceil(raw * (1 - 1e-12));
}
