import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteContainer } from '../../src/container.js';
import type { HttpApp } from '../../src/server/http-app.js';
import { demoConfig, memoryClient, startRunning, testContainer, testHttp, textOf, type ToolCallResult } from '../helpers/app.js';
import { prng } from '../../src/cli/simulate.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function post(http: HttpApp, events: unknown[]) {
  const res = await http.app.request('/v1/events', {
    method: 'POST',
    headers: { host: '127.0.0.1', 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  expect(res.status).toBe(200);
  return res.json();
}

/**
 * 600 units per arm, each sending two page loads (its value: their mean); latencies lognormal with
 * median 300 ms and σ 0.4, the treatment's 25% slower. True P90 of a unit's value: two-load means are
 * not lognormal, but scaling every value by 1.25 scales every quantile by 1.25.
 */
async function runLatencyExperiment(app: SqliteContainer, http: HttpApp, slowdown: number) {
  const exp = await startRunning(
    app,
    demoConfig({
      key: `latency-${Math.round(slowdown * 100)}`,
      guardrails: [
        { metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' },
        { metricId: 'latency-p90', margin: 0.05 },
      ],
    }),
  );
  const rand = prng(20261205);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const now = Date.now();
  const at = (s: number) => new Date(now + s * 1000).toISOString();
  const events: unknown[] = [];
  for (let i = 0; i < 1200; i++) {
    const variant = i % 2 === 0 ? 'control' : 'focus';
    const unitId = `lat-${i}`;
    events.push({ id: `x-${i}`, type: 'exposure', unitId, experimentId: exp.id, variant, timestamp: at(0) });
    for (const k of [1, 2]) {
      const ms = 300 * Math.exp(0.4 * normal()) * (variant === 'focus' ? slowdown : 1);
      events.push({ id: `l-${i}-${k}`, type: 'metric', unitId, metricId: 'latency-p90', value: Math.round(ms * 10) / 10, timestamp: at(k) });
    }
  }
  for (let i = 0; i < events.length; i += 1000) expect((await post(http, events.slice(i, i + 1000))).rejected).toEqual([]);
  return exp;
}

describe('a quantile guardrail end to end (POST /v1/events → get_metrics)', () => {
  it('reports the P90 of each arm and rolls back a 25% slower treatment', async () => {
    const app = await testContainer();
    cleanups.push(() => app.close());
    const http = testHttp(app);
    cleanups.push(() => http.close());
    const exp = await runLatencyExperiment(app, http, 1.25);
    const client = await memoryClient(app);
    cleanups.push(() => client.close());
    const r = (await client.callTool({ name: 'get_metrics', arguments: { experimentId: exp.id } })) as ToolCallResult;
    expect(r.isError, textOf(r)).toBeFalsy();
    const report = r.structuredContent as Record<string, any>;
    const latency = report.metrics.find((m: { metricId: string }) => m.metricId === 'latency-p90');
    expect(latency).toMatchObject({ kind: 'quantile', quantile: 0.9, role: 'guardrail', margin: 0.05, marginType: 'relative' });
    const [control, focus] = latency.variants;
    expect(control).toMatchObject({ variant: 'control', units: 600 });
    // P90 of a two-load mean of lognormal(ln 300, 0.4) loads ≈ 300·e^{1.2816·0.4/√2} = 431 ms (treating the
    // mean as lognormal with σ 0.4/√2, python3: 300*math.exp(1.2816*0.4/math.sqrt(2))); bounds deliberately loose.
    expect(control.mean).toBeGreaterThan(400);
    expect(control.mean).toBeLessThan(500);
    expect(focus.mean / control.mean).toBeGreaterThan(1.15);
    expect(focus.mean / control.mean).toBeLessThan(1.35);
    expect(focus.absolute.lower).toBeGreaterThan(0);
    // The always-valid interval (the default method) is wide at 600 units per arm, but excludes 0.
    expect(focus.relative.lower).toBeGreaterThan(0);
    expect(focus).toMatchObject({ assessment: 'worse', significant: true });
    expect(focus.nonInferiority.nonInferior).toBe(false);
    expect(report.decision.decision).toBe('roll_back');
    expect(textOf(r)).toMatch(/latency-p90 \(P90 \d+(\.\d+)? vs \d+(\.\d+)?, guardrail\) focus/);
  });

  it('says why a quantile is not computable below its minimum sample', async () => {
    const app = await testContainer();
    cleanups.push(() => app.close());
    const exp = await startRunning(
      app,
      demoConfig({
        key: 'latency-few',
        guardrails: [
          { metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' },
          { metricId: 'latency-p90', margin: 0.05 },
        ],
      }),
    );
    const t = new Date().toISOString();
    const events = Array.from({ length: 40 }, (_, i) => [
      { id: `x${i}`, type: 'exposure', unitId: `f${i}`, experimentId: exp.id, variant: i % 2 ? 'focus' : 'control', timestamp: t },
      { id: `m${i}`, type: 'metric', unitId: `f${i}`, metricId: 'latency-p90', value: 200 + i, timestamp: t },
    ]).flat();
    expect((await app.events.ingest({ events })).rejected).toEqual([]);
    const focus = (await app.metrics.report(exp.id)).metrics.find((m) => m.metricId === 'latency-p90')!.variants[1];
    expect(focus).toMatchObject({ assessment: 'not_computable', units: 20 });
    expect(focus.note).toMatch(/control has 20 units with a value; P90 needs at least 35 per arm/);
  });
});
