import { describe, expect, it } from 'vitest';
import { bayesianComparison } from '../../../src/domain/stats/index.js';
import { expectAbsClose, expectOk, expectRelClose } from './expect.js';

// Independent check: composite Simpson quadrature of the posterior N(estimate, σ²) over ±12σ
// (mass outside < 4e-33), 20,000 panels; its error is far below the 1e-9 tolerance used.
function simpson(f: (x: number) => number, a: number, b: number, panels = 20_000): number {
  const h = (b - a) / panels;
  let s = f(a) + f(b);
  for (let i = 1; i < panels; i++) s += (i % 2 === 1 ? 4 : 2) * f(a + i * h);
  return (s * h) / 3;
}

function posteriorIntegrals(estimate: number, sigma: number, sign: 1 | -1) {
  const density = (d: number) => Math.exp(-0.5 * ((d - estimate) / sigma) ** 2) / (sigma * Math.sqrt(2 * Math.PI));
  // Integrate separately on each side of 0 (the kink of max(0, ·)), so Simpson stays exact to high order.
  const lo = estimate - 12 * sigma;
  const hi = estimate + 12 * sigma;
  const side = (f: (d: number) => number, from: number, to: number) => (to > from ? simpson(f, from, to) : 0);
  const good = (d: number) => sign * d > 0;
  const below = (f: (d: number) => number) => side(f, lo, Math.min(0, hi));
  const above = (f: (d: number) => number) => side(f, Math.max(0, lo), hi);
  const pBeat = (sign === 1 ? above : below)((d) => density(d));
  const loss = (sign === 1 ? below : above)((d) => (good(d) ? 0 : Math.abs(d)) * density(d));
  const lossControl = (sign === 1 ? above : below)((d) => (good(d) ? Math.abs(d) : 0) * density(d));
  return { pBeat, loss, lossControl };
}

describe('bayesianComparison (flat prior, Gaussian posterior)', () => {
  // Closed-form values from Python 3 (math.erfc, math.exp; libm): P = Φ(z),
  // loss = σφ(z) − δΦ(−z), loss of control = σφ(z) + δΦ(z), δ oriented so positive is better.
  it.each([
    [0.5, 1, 'increase', 0.6914624612740131, 0.19779655740130608, 0.6977965574013061],
    [0.02, 0.01, 'decrease', 0.02275013194817922, 0.0200849070261683, 8.490702616829627e-5],
    [-3, 0.5, 'increase', 9.865876450377012e-10, 3.0000000000781784, 7.817848979853967e-11],
  ] as const)('estimate %s, se %s, %s: closed form (1e-9 relative) and quadrature (1e-9 absolute)', (estimate, se, direction, p, loss, lossControl) => {
    const r = expectOk(bayesianComparison({ estimate, standardError: se, direction }));
    expectRelClose(r.chanceToBeatControl, p, 1e-9);
    expectRelClose(r.expectedLoss, loss, 1e-9);
    expectRelClose(r.expectedLossOfControl, lossControl, 1e-9);
    const q = posteriorIntegrals(estimate, se, direction === 'increase' ? 1 : -1);
    expectAbsClose(r.chanceToBeatControl, q.pBeat, 1e-9);
    expectAbsClose(r.expectedLoss, q.loss, 1e-9 * Math.max(1, se));
    expectAbsClose(r.expectedLossOfControl, q.lossControl, 1e-9 * Math.max(1, se));
  });

  it('is symmetric: a 0 estimate gives 50% and equal losses σ/√(2π)', () => {
    const r = expectOk(bayesianComparison({ estimate: 0, standardError: 2, direction: 'increase' }));
    expect(r.chanceToBeatControl).toBe(0.5);
    expectRelClose(r.expectedLoss, 2 / Math.sqrt(2 * Math.PI), 1e-14);
    expectRelClose(r.expectedLossOfControl, r.expectedLoss, 1e-14);
  });

  it('flipping the direction swaps the chance and the two losses', () => {
    const up = expectOk(bayesianComparison({ estimate: 0.3, standardError: 0.2, direction: 'increase' }));
    const down = expectOk(bayesianComparison({ estimate: 0.3, standardError: 0.2, direction: 'decrease' }));
    expectRelClose(down.chanceToBeatControl, 1 - up.chanceToBeatControl, 1e-14);
    expectRelClose(down.expectedLoss, up.expectedLossOfControl, 1e-14);
    expectRelClose(up.expectedLoss - up.expectedLossOfControl, -0.3, 1e-12); // E[max(0,−δ)] − E[max(0,δ)] = −δ
  });

  it('refuses a zero or non-finite standard error and a non-finite estimate', () => {
    expect(bayesianComparison({ estimate: 1, standardError: 0, direction: 'increase' }).ok).toBe(false);
    expect(bayesianComparison({ estimate: 1, standardError: Number.POSITIVE_INFINITY, direction: 'increase' }).ok).toBe(false);
    expect(bayesianComparison({ estimate: Number.NaN, standardError: 1, direction: 'increase' }).ok).toBe(false);
  });
});
