/**
 * Error-free transformations (Knuth's TwoSum, Dekker's TwoProduct with Veltkamp's split) for sums kept
 * as an unevaluated pair hi + lo (~106 bits). The metric pipeline needs them because a unit's value
 * moves through 0 (no events yet) on its way to, say, 3·10⁶: the shifted squares go up by 9·10¹² and
 * back down, and in plain doubles that round trip leaves an error of ~10⁻³ on a sum of ~10.
 */

/** s + e = a + b exactly, s = fl(a + b). */
export function twoSum(a: number, b: number): [number, number] {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

const SPLITTER = 134217729; // 2^27 + 1

/** p + e = a·b exactly (barring overflow), p = fl(a·b). */
export function twoProduct(a: number, b: number): [number, number] {
  const p = a * b;
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

function split(a: number): [number, number] {
  const t = SPLITTER * a;
  const hi = t - (t - a);
  return [hi, a - hi];
}

/** Adds v to the pair at acc[i] (hi), acc[i + 1] (lo) in place. */
export function addTo(acc: number[], i: number, v: number): void {
  const [s, e] = twoSum(acc[i], v);
  acc[i] = s;
  acc[i + 1] += e;
}

/** Adds a·b (exactly, before the final rounding of the pair) to the pair at acc[i], acc[i + 1]. */
export function addProductTo(acc: number[], i: number, a: number, b: number): void {
  const [p, e] = twoProduct(a, b);
  addTo(acc, i, p);
  acc[i + 1] += e;
}

/**
 * SQL for `col = col + excluded.col` and its `col_lo` kept as a pair: the new lo adds excluded's lo and
 * the rounding error of the hi addition (TwoSum in SQL; SQLite and PostgreSQL evaluate every SET expression
 * against the old row, in IEEE doubles). The old row's columns are qualified by `table` (PostgreSQL finds a bare
 * name ambiguous with excluded's).
 */
export function pairUpsertSql(col: string, table: string): string {
  const [old, lo] = [`${table}.${col}`, `${table}.${col}_lo`];
  const s = `(${old} + excluded.${col})`;
  const bb = `(${s} - ${old})`;
  return `${col} = ${s}, ${col}_lo = ${lo} + excluded.${col}_lo + ((${old} - (${s} - ${bb})) + (excluded.${col} - ${bb}))`;
}
