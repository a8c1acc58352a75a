import { afterEach, describe, expect, it } from 'vitest';
import type { HttpApp } from '../../src/server/http-app.js';
import { demoConfig, memoryClient, startRunning, testContainer, testHttp, textOf, type ToolCallResult } from '../helpers/app.js';
import { prng } from '../../src/cli/simulate.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Unit {
  variant: 'control' | 'focus';
  /** Skips and streams before exposure (the covariates), then after. */
  mp: number;
  dp: number;
  m: number;
  d: number;
}

/**
 * 400 units per arm. Each has an activity level a (lognormal) and a skip propensity p in [0.05, 0.55]
 * that hold before and after exposure, so its pre-exposure skips per stream predict its post-exposure
 * ones; the treatment skips 10% less. Streams ≈ 8a, skips ≈ p·streams, both with noise.
 */
function population(): Unit[] {
  const rand = prng(20261207);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return Array.from({ length: 800 }, (_, i) => {
    const variant = i % 2 === 0 ? 'control' : 'focus';
    const a = Math.exp(0.5 * normal());
    const p = 0.05 + 0.5 * rand();
    const period = (lift: number) => {
      const d = Math.max(1, Math.round(8 * a + 2 * normal()));
      return [Math.max(0, Math.round(d * p * lift + normal())), d];
    };
    const [mp, dp] = period(1);
    const [m, d] = period(variant === 'focus' ? 0.9 : 1);
    return { variant, mp, dp, m, d };
  });
}

async function post(http: HttpApp, events: unknown[]) {
  const res = await http.app.request('/v1/events', {
    method: 'POST',
    headers: { host: '127.0.0.1', 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { rejected: unknown[] };
}

/** Runs the experiment on a fresh server with CUPED on or off; returns the skips-per-stream cell of the treatment. */
async function skipsPerStream(units: Unit[], cuped: boolean) {
  const app = await testContainer();
  cleanups.push(() => app.close());
  const http = testHttp(app);
  cleanups.push(() => http.close());
  const exp = await startRunning(
    app,
    demoConfig({
      key: `ratio-cuped-${cuped}`,
      successMetrics: ['skips-per-stream'],
      analysisPlan: { alpha: 0.05, power: 0.8, mde: 0.05, durationDays: 14, sequential: false, cuped },
    }),
  );
  const now = Date.now();
  const at = (h: number) => new Date(now + h * 3_600_000).toISOString();
  const events = units.flatMap((u, i) => {
    const unitId = `r-${i}`;
    const metric = (id: string, metricId: string, value: number, h: number) => ({
      id: `${id}-${i}`,
      type: 'metric',
      unitId,
      metricId,
      value,
      timestamp: at(h),
    });
    return [
      metric('sp', 'skips', u.mp, -48),
      metric('dp', 'streams-per-user', u.dp, -47),
      { id: `x-${i}`, type: 'exposure', unitId, experimentId: exp.id, variant: u.variant, timestamp: at(-24) },
      metric('s', 'skips', u.m, -2),
      metric('d', 'streams-per-user', u.d, -1),
    ];
  });
  for (let i = 0; i < events.length; i += 1000) expect((await post(http, events.slice(i, i + 1000))).rejected).toEqual([]);
  const client = await memoryClient(app);
  cleanups.push(() => client.close());
  const r = (await client.callTool({ name: 'get_metrics', arguments: { experimentId: exp.id } })) as ToolCallResult;
  expect(r.isError, textOf(r)).toBeFalsy();
  const report = r.structuredContent as Record<string, any>;
  const metric = report.metrics.find((m: { metricId: string }) => m.metricId === 'skips-per-stream');
  return metric.variants.find((v: { variant: string }) => v.variant === 'focus') as {
    units: number;
    absolute: { estimate: number; lower: number; upper: number };
    varianceReduction: number | null;
  };
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
const mean = (xs: number[]) => sum(xs) / xs.length;
const cov = (xs: number[], ys: number[]) => {
  const [mx, my] = [mean(xs), mean(ys)];
  return sum(xs.map((x, i) => (x - mx) * (ys[i] - my))) / (xs.length - 1);
};

/**
 * The oracle, two-pass from the unit values: Δ of the ratios of sums, the pre-period Δ, and θ as the
 * pooled within-arm regression of the units' linearised post ratio on their linearised pre ratio
 * ((m − R·d)/d̄ on (mPre − R_pre·dPre)/d̄Pre, gbstats' compute_theta_regression_adjusted_ratio).
 */
function expected(units: Unit[]) {
  const arm = (v: Unit['variant']) => {
    const us = units.filter((u) => u.variant === v);
    const [m, d, mp, dp] = [us.map((u) => u.m), us.map((u) => u.d), us.map((u) => u.mp), us.map((u) => u.dp)];
    const [r, rp] = [sum(m) / sum(d), sum(mp) / sum(dp)];
    const lin = m.map((x, i) => (x - r * d[i]) / mean(d));
    const linPre = mp.map((x, i) => (x - rp * dp[i]) / mean(dp));
    return { r, rp, cxy: cov(lin, linPre), vyy: cov(linPre, linPre) };
  };
  const [c, t] = [arm('control'), arm('focus')];
  const theta = (c.cxy + t.cxy) / (c.vyy + t.vyy);
  return { delta: t.r - c.r, deltaPre: t.rp - c.rp, theta };
}

describe('CUPED for a ratio metric end to end (POST /v1/events → get_metrics)', () => {
  it('adjusts skips per stream with the pre-exposure skips and streams: same estimate up to θ·Δpre, a narrower interval', async () => {
    const units = population();
    const want = expected(units);
    const plain = await skipsPerStream(units, false);
    const adjusted = await skipsPerStream(units, true);
    expect(plain.units).toBe(400);
    expect(adjusted.units).toBe(400);
    // Without CUPED: the ratio test on the post-exposure sums, no reduction.
    expect(plain.varianceReduction).toBeNull();
    expect(plain.absolute.estimate).toBeCloseTo(want.delta, 12);
    // With CUPED: Δ − θ·(R_pre,T − R_pre,C), θ from the unit values; the pre ratio explains much of the post one.
    expect(want.theta).toBeGreaterThan(0.3);
    expect(adjusted.absolute.estimate).toBeCloseTo(want.delta - want.theta * want.deltaPre, 10);
    expect(adjusted.varianceReduction).toBeGreaterThan(0.3);
    const width = (c: typeof plain) => c.absolute.upper - c.absolute.lower;
    expect(width(adjusted)).toBeLessThan(width(plain));
    // The interval shrinks by about √(1 − reduction) (the t quantiles differ only in df).
    expect(width(adjusted) / width(plain)).toBeCloseTo(Math.sqrt(1 - adjusted.varianceReduction!), 2);
  });
});
