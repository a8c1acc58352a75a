import { describe, expect, it } from 'vitest';
import { addProductTo, addTo, twoProduct, twoSum } from '../../src/store/double-double.js';

// Expected values are exact by hand: powers of two, so every number below is a double.
describe('error-free transformations', () => {
  it('TwoSum returns the rounding error of an addition', () => {
    expect(twoSum(2 ** 53, 1)).toEqual([2 ** 53, 1]); // 2^53 + 1 rounds to 2^53 (ties to even), error 1
    expect(twoSum(0.5, 0.25)).toEqual([0.75, 0]);
  });

  it('TwoProduct returns the rounding error of a product', () => {
    // (1 + 2^-30)² = 1 + 2^-29 + 2^-60: the double keeps 1 + 2^-29, the error is 2^-60.
    expect(twoProduct(1 + 2 ** -30, 1 + 2 ** -30)).toEqual([1 + 2 ** -29, 2 ** -60]);
  });

  it('a pair cancels a huge square added and removed, where a double keeps the rounding', () => {
    // +(3·10⁶)² + 2.5² − (3·10⁶)² = 6.25 exactly; in plain doubles 9e12 + 6.25 rounds to a multiple of 2^-9.
    const acc = [0, 0];
    addProductTo(acc, 0, -3e6, -3e6);
    addProductTo(acc, 0, 2.5000001, 2.5000001);
    addProductTo(acc, 0, 3e6, -3e6);
    const plain = 9e12 + 2.5000001 ** 2 - 9e12;
    expect(acc[0] + acc[1]).toBe(2.5000001 * 2.5000001);
    expect(plain).not.toBe(2.5000001 * 2.5000001);
    // Removing the exact square too leaves nothing (below 1e-30, i.e. far under the square's own ulp 4e-16).
    addProductTo(acc, 0, -2.5000001, 2.5000001);
    expect(Math.abs(acc[0] + acc[1])).toBeLessThan(1e-30);
    addTo(acc, 0, 1);
    expect(acc[0] + acc[1]).toBe(1);
  });
});
