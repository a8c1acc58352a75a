import { afterEach, describe, expect, it } from 'vitest';
import { runSimulatedDays, type SimulateDaysOptions } from '../../src/cli/simulate-days.js';
import { parseDaysFlags } from '../../src/cli/simulate-flags.js';
import { ConfigError } from '../../src/config.js';
import { createContainer, type SqliteContainer } from '../../src/container.js';
import { SimulatedClock } from '../../src/systems/clock.js';
import { appFetch, demoConfig, permissivePolicy, testHttp } from '../helpers/app.js';

const START = '2026-01-05T00:00:00.000Z';
const DAY = 86_400_000;
const cleanups: (() => unknown)[] = [];

/** An arm's mean and variance from the per-arm sufficient statistics (independent of the analysis method in force). */
function arm(app: SqliteContainer, experimentId: string, metricId: string, variant: string) {
  const a = app.deps.events.aggregates(experimentId, metricId).find((x) => x.variant === variant)!;
  const mean = a.sumX / a.n;
  // For a ratio metric x is the unit's numerator total and y its denominator total.
  return { n: a.n, mean, variance: a.sumX2 / a.n - mean * mean, meanY: a.sumY / a.n };
}

/** Two-sample z of treatment minus control. */
const zOf = (t: ReturnType<typeof arm>, c: ReturnType<typeof arm>) => (t.mean - c.mean) / Math.sqrt(t.variance / t.n + c.variance / c.n);
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A rehearsal server (simulated clock, permissive policy: 50% first stages) reached in process through its HTTP app. */
async function setup(simulated = true) {
  let n = 0;
  const app: SqliteContainer = await createContainer({
    dbFile: ':memory:',
    policy: permissivePolicy(),
    newId: (prefix) => `${prefix}_sd${String(++n).padStart(12, '0')}`,
    ...(simulated ? { clock: new SimulatedClock(new Date(START)) } : {}),
  });
  const http = testHttp(app);
  cleanups.push(
    () => app.close(),
    () => http.close(),
  );
  const fetch = appFetch(http);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1/v1${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return (await res.json()) as any;
  };
  const deploy = async (config: Record<string, unknown>): Promise<string> => {
    const { experiment } = await call('POST', '/experiments', { config });
    const v = await call('POST', `/experiments/${experiment.id}/validate`);
    expect(v.valid, JSON.stringify(v.findings)).toBe(true);
    const d = await call('POST', `/experiments/${experiment.id}/deploy`, { version: experiment.version, planHash: v.planHash });
    expect(d.experiment?.status, JSON.stringify(d)).toBe('running');
    return experiment.id;
  };
  const lines: string[] = [];
  const options = (o: Partial<SimulateDaysOptions>): SimulateDaysOptions => ({
    url: 'http://127.0.0.1',
    days: 1,
    seed: 11,
    out: (l) => lines.push(l),
    fetch,
    ...o,
  });
  return { app, call, deploy, options, lines };
}

/** Two experiments on different Home slots (their buckets overlap): A on shelf-2, B on shelf-3 with a ratio guardrail. */
const A = demoConfig({
  key: 'sim-a',
  allocationPercent: 50,
  guardrails: [
    { metricId: 'crash-rate', margin: 0.02 },
    { metricId: 'latency-ms', margin: 0.05 },
  ],
});
const B = demoConfig({
  key: 'sim-b',
  allocationPercent: 50,
  variants: [
    { key: 'control', isControl: true, weight: 50, overrides: [] },
    { key: 'chill', weight: 50, overrides: [{ slotId: 'shelf-3', contentId: 'pl-chill' }] },
  ],
  guardrails: [
    { metricId: 'crash-rate', margin: 0.02 },
    { metricId: 'skips-per-stream', margin: 0.05 },
  ],
});

describe('sealab simulate --days', () => {
  it('is faithful: every metric of every experiment a unit is in gets events; a second experiment with no effect stays at the baseline', async () => {
    const { app, call, deploy, options, lines } = await setup();
    const a = await deploy(A);
    const b = await deploy(B);
    const log = await runSimulatedDays(options({ days: 2, unitsPerDay: 6000, effects: [{ experiment: 'sim-a', metricId: 'stream-rate', effect: 0.2 }] }));

    expect(log.targets.map((t) => t.key).sort()).toEqual(['sim-a', 'sim-b']);
    expect(log.stoppedBecause).toBe('days');
    expect(log.days.map((d) => [d.day, d.from, d.to, d.units])).toEqual([
      [1, START, new Date(Date.parse(START) + DAY).toISOString(), 6000],
      [2, new Date(Date.parse(START) + DAY).toISOString(), new Date(Date.parse(START) + 2 * DAY).toISOString(), 6000],
    ]);
    expect((await call('GET', '/clock')).now).toBe(new Date(Date.parse(START) + 2 * DAY).toISOString());
    for (const d of log.days) {
      expect(d.rejected).toBe(0);
      expect(d.exposed).toBeGreaterThan(2400); // half the buckets are in the experiments
      expect(d.exposed).toBeLessThan(3600);
    }
    expect(lines.filter((l) => /^day 2 {2}sim-b /.test(l))).toHaveLength(1);

    // Every metric of both experiments, the rare crash-rate and both sides of the ratio included, has data in every arm.
    const metricsOf = { [a]: ['stream-rate', 'crash-rate', 'latency-ms'], [b]: ['stream-rate', 'crash-rate', 'skips-per-stream'] };
    for (const [id, metrics] of Object.entries(metricsOf))
      for (const metricId of metrics)
        for (const variant of id === a ? ['control', 'focus'] : ['control', 'chill']) {
          const x = arm(app, id, metricId, variant);
          expect(x.n, `${metricId}/${variant}`).toBeGreaterThan(1000);
          expect(x.mean, `${metricId}/${variant}`).toBeGreaterThan(0);
        }
    for (const id of [a, b])
      for (const m of (await app.metrics.report(id)).metrics) for (const v of m.variants) expect(v.mean, `${m.metricId}/${v.variant}`).toBeGreaterThan(0);
    // Rates per metric kind follow the catalog: crash-rate is rare, latency is about 320 ms, skips per stream about 0.25.
    expect(arm(app, b, 'crash-rate', 'control').mean).toBeLessThan(0.012);
    expect(Math.abs(arm(app, a, 'latency-ms', 'control').mean - 320)).toBeLessThan(10);
    const ratio = arm(app, b, 'skips-per-stream', 'control');
    expect(ratio.meanY).toBeGreaterThan(5); // streams per unit, the denominator (catalog mean 6.5)
    const skipsPerStream = ratio.mean / ratio.meanY; // skips (catalog mean 1.6) per stream
    expect(Math.abs(skipsPerStream - 0.25)).toBeLessThan(0.03); // the catalog's skips-per-stream baseline (1.6 / 6.5)

    // A's true effect is there: +20% on stream-rate in treatment.
    const controlA = arm(app, a, 'stream-rate', 'control');
    const focusA = arm(app, a, 'stream-rate', 'focus');
    expect(focusA.mean / controlA.mean - 1).toBeGreaterThan(0.1);
    expect(focusA.mean / controlA.mean - 1).toBeLessThan(0.3);
    expect(zOf(focusA, controlA)).toBeGreaterThan(3);

    // B's arms sit at the baseline, raised only by the share of their units that A treats (not diluted, as when only A's units got events).
    for (const variant of ['control', 'chill']) {
      const v = arm(app, b, 'stream-rate', variant);
      const { share } = app.deps.db
        .prepare(
          `SELECT AVG(CASE WHEN xa.variant = 'focus' THEN 1.0 ELSE 0 END) AS share FROM exposures xb
           LEFT JOIN exposures xa ON xa.unit_id = xb.unit_id AND xa.experiment_id = ? WHERE xb.experiment_id = ? AND xb.variant = ?`,
        )
        .get(a, b, variant) as { share: number };
      const expected = 0.32 * (1 + 0.2 * share);
      const se = Math.sqrt((expected * (1 - expected)) / v.n);
      expect(Math.abs(v.mean - expected), `${variant}: ${v.mean} vs ${expected}`).toBeLessThan(4 * se);
      expect(Math.abs(v.mean - 0.32)).toBeLessThan(0.05);
    }
  }, 30_000);

  it('--harm makes the chosen guardrail significantly worse in treatment, and only that one', async () => {
    const { app, deploy, options } = await setup();
    const a = await deploy(A);
    await runSimulatedDays(options({ days: 1, unitsPerDay: 4000, harm: [{ metricId: 'latency-ms', effect: 0.15 }] }));
    const control = arm(app, a, 'latency-ms', 'control');
    const treated = arm(app, a, 'latency-ms', 'focus');
    expect(treated.mean / control.mean).toBeGreaterThan(1.1);
    expect(treated.mean / control.mean).toBeLessThan(1.2);
    expect(zOf(treated, control)).toBeGreaterThan(5);
    expect(Math.abs(zOf(arm(app, a, 'stream-rate', 'focus'), arm(app, a, 'stream-rate', 'control')))).toBeLessThan(3);
  });

  it('refuses a server on the wall clock, saying how to start a simulated one', async () => {
    const { deploy, options } = await setup(false);
    await deploy(A);
    await expect(runSimulatedDays(options({}))).rejects.toThrow(/runs on the wall clock.*sealab serve --simulated-clock/);
  });

  it('creates the demo experiment when nothing runs; --until-decision keeps going while the decision is keep_running', async () => {
    const { options, lines } = await setup();
    const log = await runSimulatedDays(options({ days: 2, unitsPerDay: 400, untilDecision: true }));
    expect(log.targets.map((t) => t.key)).toEqual(['demo-home-focus-shelf']);
    expect(lines[0]).toMatch(/^created, validated and deployed demo-home-focus-shelf/);
    // 400 units a day cannot settle a crash-rate guardrail: no decision yet, so both days run.
    expect(log.days.map((d) => [d.units, d.experiments[0].decision])).toEqual([
      [400, 'keep_running'],
      [400, 'keep_running'],
    ]);
    expect(log.stoppedBecause).toBe('days');
  });
});

describe('sealab simulate --days flags', () => {
  const base = { url: 'http://127.0.0.1:8787', out: () => undefined };
  it('parses effects and harm', () => {
    expect(
      parseDaysFlags(
        { days: '7', effects: 'sim-a:stream-rate=0.05, sim-b:crash-rate=-0.1', harm: 'latency-ms=0.2,sim-a:crash-rate=1', 'units-per-day': '500' },
        base,
      ),
    ).toMatchObject({
      days: 7,
      unitsPerDay: 500,
      effect: 0,
      seed: 42,
      effects: [
        { experiment: 'sim-a', metricId: 'stream-rate', effect: 0.05 },
        { experiment: 'sim-b', metricId: 'crash-rate', effect: -0.1 },
      ],
      harm: [
        { metricId: 'latency-ms', effect: 0.2 },
        { experiment: 'sim-a', metricId: 'crash-rate', effect: 1 },
      ],
    });
  });

  it.each([
    [{ days: '0' }, /^--days: must be a whole number of days/],
    [{ days: '2', effects: 'stream-rate=0.1' }, /^--effects: 'stream-rate=0.1' is not experiment:metric=E/],
    [{ days: '2', harm: 'crash-rate=-0.5' }, /^--harm: .*above 0/],
    [{ days: '2', effect: 'lots' }, /^--effect: must be a relative change/],
  ])('refuses %j', (flags, pattern) => {
    expect(() => parseDaysFlags(flags, base)).toThrow(ConfigError);
    expect(() => parseDaysFlags(flags, base)).toThrow(pattern);
  });
});
