/** Multiple-testing corrections: family-wise (Bonferroni, Holm) or false discovery rate (Benjamini–Hochberg). */
export type PValueAdjustment = 'bonferroni' | 'holm' | 'bh';

/**
 * Adjusted p-values in the input order, as R's p.adjust computes them: compare each with the same α
 * as a single p-value. Monotone in the raw p-values and capped at 1. Throws RangeError on a p-value
 * outside [0, 1] (a caller bug: an uncomputable test has no p-value to correct).
 */
export function adjustPValues(pValues: readonly number[], method: PValueAdjustment): number[] {
  for (const p of pValues) {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`adjustPValues: every p-value must be in [0, 1], got ${p}`);
  }
  if (method !== 'bonferroni' && method !== 'holm' && method !== 'bh') {
    throw new RangeError(`adjustPValues: method must be 'bonferroni', 'holm' or 'bh', got ${String(method)}`);
  }
  const m = pValues.length;
  if (method === 'bonferroni') return pValues.map((p) => Math.min(1, m * p));

  // Indices by ascending p (stable, so ties keep their input order).
  const order = pValues.map((_, i) => i).sort((a, b) => pValues[a] - pValues[b]);
  const adjusted = new Array<number>(m);
  if (method === 'holm') {
    // Step-down: p_(i)·(m − i + 1), made non-decreasing by a running maximum from the smallest p.
    let running = 0;
    order.forEach((idx, rank) => {
      running = Math.max(running, Math.min(1, (m - rank) * pValues[idx]));
      adjusted[idx] = running;
    });
    return adjusted;
  }
  // Benjamini–Hochberg step-up: p_(i)·m/i, made non-decreasing by a running minimum from the largest p.
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const idx = order[rank];
    running = Math.min(running, (m / (rank + 1)) * pValues[idx]);
    adjusted[idx] = running;
  }
  return adjusted;
}
