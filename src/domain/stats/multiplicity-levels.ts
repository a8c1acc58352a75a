import type { PValueAdjustment } from './adjust-p-values.js';

/** One test in a family: its raw p-value (orders the family) and whether its (1 − level) interval excludes 0. */
export interface FamilyMember {
  pValue: number;
  excludesZeroAt: (level: number) => boolean;
}

/** The level a member's adjusted interval is read at, and whether that interval excludes 0 (the member's verdict). */
export interface MemberLevel {
  level: number;
  significant: boolean;
}

/**
 * Per-member levels whose intervals agree with the adjusted p-values (adjustPValues, same α):
 * - Bonferroni: α/m for every member — the classical simultaneous intervals; excludes 0 ⇔ m·p < α.
 * - Holm: the step-down's own levels. Members in ascending p are tested at α/m, α/(m − 1), …; each
 *   rejected member's interval is at the level that rejected it, and the first member not rejected and
 *   every later one at the level where the procedure stopped. Excludes 0 ⇔ Holm's adjusted p < α.
 *   (Simultaneous coverage holds for the α/m intervals only; Holm-compatible simultaneous intervals,
 *   Strassburger & Bretz 2008, say no more than "> 0" for a rejected member unless all are rejected.)
 * - BH: the false-coverage-rate intervals of Benjamini & Yekutieli (2005) at level k·α/m, k the number of
 *   rejections (α/m when k = 0): excludes 0 ⇔ BH's adjusted p < α.
 * `significant` is read off the interval itself, so a member is significant exactly when its interval
 * excludes 0; for any test whose p-value and interval come from the same statistic this is the adjusted-p verdict.
 */
export function multiplicityLevels(members: readonly FamilyMember[], method: PValueAdjustment, alpha: number): MemberLevel[] {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`multiplicityLevels: alpha must be in (0, 1), got ${alpha}`);
  const m = members.length;
  const at = (i: number, level: number): MemberLevel => ({ level, significant: members[i].excludesZeroAt(level) });
  if (method === 'bonferroni') return members.map((_, i) => at(i, alpha / m));
  const order = members.map((_, i) => i).sort((a, b) => members[a].pValue - members[b].pValue);
  if (method === 'holm') {
    const out = new Array<MemberLevel>(m);
    let stopLevel: number | null = null;
    order.forEach((idx, rank) => {
      const level = stopLevel ?? alpha / (m - rank);
      out[idx] = at(idx, level);
      if (stopLevel === null && !out[idx].significant) stopLevel = level;
    });
    return out;
  }
  // Benjamini–Hochberg step-up: k = the largest rank whose member excludes 0 at rank·α/m.
  let k = 0;
  for (let rank = m; rank >= 1; rank--) {
    if (members[order[rank - 1]].excludesZeroAt((rank * alpha) / m)) {
      k = rank;
      break;
    }
  }
  const level = (Math.max(k, 1) * alpha) / m;
  return members.map((_, i) => at(i, level));
}
