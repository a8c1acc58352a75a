import { expect } from 'vitest';

/** Asserts |actual/expected − 1| ≤ tolerance (relative), with a message naming both values. */
export function expectRelClose(actual: number | null | undefined, expected: number, tolerance: number): void {
  expect(actual, `expected a number close to ${expected}`).toBeTypeOf('number');
  const rel = Math.abs((actual as number) / expected - 1);
  expect(rel, `${actual} vs ${expected}: relative error ${rel} > ${tolerance}`).toBeLessThanOrEqual(tolerance);
}

/** Asserts |actual − expected| ≤ tolerance (absolute). */
export function expectAbsClose(actual: number | null | undefined, expected: number, tolerance: number): void {
  expect(actual, `expected a number close to ${expected}`).toBeTypeOf('number');
  const diff = Math.abs((actual as number) - expected);
  expect(diff, `${actual} vs ${expected}: absolute error ${diff} > ${tolerance}`).toBeLessThanOrEqual(tolerance);
}

/** Narrows an ok/not-ok result to its ok variant, failing the test with the reason otherwise. */
export function expectOk<R extends { ok: boolean }>(r: R): Extract<R, { ok: true }> {
  if (!r.ok) throw new Error(`expected ok, got: ${(r as unknown as { reason: string }).reason}`);
  return r as Extract<R, { ok: true }>;
}
