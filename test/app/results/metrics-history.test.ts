import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteContainer } from '../../../src/container.js';
import { SimulatedClock } from '../../../src/systems/clock.js';
import { MetricsHistorySchema } from '../../../src/app/results/metrics-history.js';
import { demoConfig, permissivePolicy, startRunning, testContainer, testHttp } from '../../helpers/app.js';
import { ingestDays } from '../../helpers/results-traffic.js';

let app: SqliteContainer;
afterEach(() => app?.close());

async function running(analysisPlan: Record<string, unknown>) {
  const clock = new SimulatedClock(new Date('2026-03-02T09:00:00Z'));
  app = await testContainer({ policy: permissivePolicy(), clock });
  const exp = await startRunning(
    app,
    demoConfig({ allocationPercent: 50, analysisPlan: { alpha: 0.05, power: 0.8, mde: 0.05, durationDays: 14, ...analysisPlan } }),
  );
  return { clock, exp };
}

describe('the effect over time (metrics history)', () => {
  it.each([
    ['always-valid confidence sequence', { sequential: true }],
    ['always-valid mSPRT', { sequential: true, sequentialMethod: 'msprt' }],
    ['fixed-horizon', { sequential: false }],
  ])('%s: one point per day, and the last one is exactly get_metrics’ interval', async (_name, plan) => {
    const { clock, exp } = await running(plan);
    await ingestDays(app, clock, exp.id, { days: 4, perArmPerDay: 60 });
    const history = MetricsHistorySchema.parse(await app.metrics.history(exp.id));
    const report = await app.metrics.report(exp.id);
    expect(history.method).toBe(report.method);
    expect(history.series.map((s) => `${s.metricId}/${s.variant}`).sort()).toEqual(['crash-rate/focus', 'stream-rate/focus']);
    for (const s of history.series) {
      expect(s.points.map((p) => p.day)).toEqual(['2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05']);
      for (const p of s.points) {
        expect(p.lower).toBeLessThanOrEqual(p.estimate);
        expect(p.upper).toBeGreaterThanOrEqual(p.estimate);
      }
      const cell = report.metrics.find((m) => m.metricId === s.metricId)!.variants.find((v) => v.variant === s.variant)!;
      expect(s.points.at(-1)).toEqual({ day: '2026-03-05', ...cell.absolute });
    }
  });

  it('narrows as the sample grows: the confidence sequence on day 4 is inside a wider band than on day 1', async () => {
    const { clock, exp } = await running({ sequential: true });
    await ingestDays(app, clock, exp.id, { days: 4, perArmPerDay: 60 });
    const s = (await app.metrics.history(exp.id)).series.find((x) => x.metricId === 'stream-rate')!;
    const width = (i: number) => s.points[i].upper - s.points[i].lower;
    expect(width(3)).toBeLessThan(width(0));
  });

  it('an earlier look is what get_metrics answered that day', async () => {
    const { clock, exp } = await running({ sequential: true });
    await ingestDays(app, clock, exp.id, { days: 1, perArmPerDay: 60 });
    const first = (await app.metrics.report(exp.id)).metrics.find((m) => m.metricId === 'stream-rate')!.variants.find((v) => !v.isControl)!;
    await ingestDays(app, clock, exp.id, { days: 2, perArmPerDay: 30, prefix: 'later' });
    const s = (await app.metrics.history(exp.id)).series.find((x) => x.metricId === 'stream-rate')!;
    expect(s.points).toHaveLength(3);
    expect(s.points[0]).toEqual({ day: '2026-03-02', ...first.absolute });
  });

  it('no data yet: series without points; an unknown experiment is NOT_FOUND', async () => {
    const { exp } = await running({ sequential: true });
    expect((await app.metrics.history(exp.id)).series.every((s) => s.points.length === 0)).toBe(true);
    await expect(app.metrics.history('exp_nope')).rejects.toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('GET /v1/experiments/{id}/metrics/history answers the same series', async () => {
    const { clock, exp } = await running({ sequential: true });
    await ingestDays(app, clock, exp.id, { days: 2, perArmPerDay: 40 });
    const http = testHttp(app);
    try {
      const res = await http.app.request(`/v1/experiments/${exp.key}/metrics/history`, { headers: { host: '127.0.0.1' } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(JSON.parse(JSON.stringify(await app.metrics.history(exp.id))));
      const missing = await http.app.request('/v1/experiments/exp_nope/metrics/history', { headers: { host: '127.0.0.1' } });
      expect(missing.status).toBe(404);
    } finally {
      await http.close();
    }
  });
});
