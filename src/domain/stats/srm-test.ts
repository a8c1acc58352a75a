import { chiSquareSf } from './distributions.js';

/** Sample-ratio-mismatch check: did traffic split as the weights say it should? */
export type SrmResult =
  | { ok: true; chiSquare: number; df: number; pValue: number; mismatch: boolean; expected: number[]; observed: number[] }
  | { ok: false; reason: string };

/** Pearson chi-square goodness of fit of observed arm counts to normalised weights; mismatch = p < threshold. */
export function srmTest(observed: number[], weights: number[], threshold = 0.001): SrmResult {
  const problem = invalidInput(observed, weights, threshold);
  if (problem !== null) return { ok: false, reason: problem };
  const total = observed.reduce((a, b) => a + b, 0);
  if (total === 0) return { ok: false, reason: 'no observations in any arm yet; nothing to test' };

  const weightSum = weights.reduce((a, b) => a + b, 0);
  const expected = weights.map((w) => (total * w) / weightSum);
  const chiSquare = observed.reduce((acc, o, i) => acc + (o - expected[i]) ** 2 / expected[i], 0);
  const df = observed.length - 1;
  const pValue = chiSquareSf(chiSquare, df);
  return { ok: true, chiSquare, df, pValue, mismatch: pValue < threshold, expected, observed: [...observed] };
}

function invalidInput(observed: number[], weights: number[], threshold: number): string | null {
  if (observed.length !== weights.length) {
    return `observed has ${observed.length} arms but weights has ${weights.length}; pass one weight per arm`;
  }
  if (observed.length < 2) return 'need at least 2 arms to test a traffic split';
  if (!observed.every((o) => Number.isInteger(o) && o >= 0)) return 'observed counts must be non-negative integers';
  // A zero-weight arm has expected count 0, where chi-square is undefined; any traffic to it is itself a mismatch.
  if (!weights.every((w) => Number.isFinite(w) && w > 0)) {
    return 'weights must be finite and positive; drop arms with weight 0 before testing (any traffic to such an arm is already a mismatch)';
  }
  if (!(threshold > 0 && threshold < 1)) return `threshold must be between 0 and 1 (exclusive), got ${threshold}`;
  return null;
}
