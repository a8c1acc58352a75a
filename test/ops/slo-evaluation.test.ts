import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { loadSloFile, parseSloFile } from '../../src/ops/slo/slo-file.js';
import { SampleRing } from '../../src/ops/slo/sample-ring.js';
import { testContainer } from '../helpers/app.js';
import { serve, servingMetrics } from './slo-helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  let now = Date.parse('2026-11-02T09:00:00Z');
  const app = await testContainer({ clock: { now: () => new Date(now) } });
  cleanups.push(() => app.close());
  return { app, advance: (ms: number) => (now += ms) };
}

const byName = (app: Awaited<ReturnType<typeof setup>>['app'], name: string) => app.slo.status(name).slos[0]!;

describe('SLO file', () => {
  it('ships defaults for every SLI the issue names, each with the Workbook burn-rate pairs', () => {
    const f = loadSloFile();
    expect(f.slos.map((s) => s.name)).toEqual([
      'assignment-availability',
      'assignment-latency',
      'ingest-durability',
      'ingest-lag',
      'results-freshness',
      'mcp-tool-availability',
      'mcp-tool-latency',
      'deploy-saga-success',
      'deploy-saga-duration',
      'config-propagation',
      'guardrail-reaction',
    ]);
    for (const s of f.slos) {
      expect(s.window).toBe('30d');
      expect(s.alerting.map((a) => `${a.severity} ${a.long}/${a.short} > ${a.burnRate}`)).toEqual(['page 1h/5m > 14.4', 'page 6h/30m > 6', 'ticket 3d/6h > 1']);
    }
    expect(f.slos.filter((s) => s.actions.holdRamps).map((s) => s.category)).toEqual(['serving', 'serving']);
  });

  it('refuses a bad file at start, naming the file and every bad path', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealab-slo-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'slo.json');
    const slo = (name: string, extra: Record<string, unknown> = {}) => ({
      name,
      category: 'serving',
      sli: { kind: 'latency', histogram: 'sealab_serving_duration_seconds', thresholdSeconds: 0.025 },
      objective: 0.99,
      ...extra,
    });
    fs.writeFileSync(
      file,
      JSON.stringify({
        version: 'x',
        slos: [slo('a', { objective: 1 }), slo('a'), slo('b', { alerting: [{ severity: 'page', long: '5m', short: '1h', burnRate: 2 }] })],
      }),
    );
    let message = '';
    try {
      loadSloFile(file);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toContain(`SLO file ${file} is invalid`);
    expect(message).toContain('slos.0.objective: must be below 1');
    expect(message).toContain("slos.1.name: 'a' is declared twice");
    expect(message).toContain('slos.2.alerting.0.short: must be shorter than long (5m)');
    expect(() => loadSloFile(path.join(dir, 'missing.json'))).toThrow(/cannot be read \(ENOENT\); set SEALAB_SLO_FILE or --slo/);
    expect(() => parseSloFile({ version: 'x', slos: [slo('c', { sli: { kind: 'ratio', total: { metric: 'bad name' }, bad: { metric: 'x' } } })] })).toThrow(
      /slos\.0\.sli\.total\.metric: must be a Prometheus metric name/,
    );
  });

  it('is chosen by --slo, then SEALAB_SLO_FILE, else the shipped file', () => {
    expect(loadConfig({}, {}).sloFile).toBeUndefined();
    expect(loadConfig({}, { SEALAB_SLO_FILE: 'ops/slo.json' }).sloFile).toBe(path.resolve('ops/slo.json'));
    expect(loadConfig({ sloFile: 'mine.json' }, { SEALAB_SLO_FILE: 'ops/slo.json' }).sloFile).toBe(path.resolve('mine.json'));
  });

  it('a container with an invalid SLO document does not start', async () => {
    await expect(testContainer({ slo: { version: 'x', slos: [] } })).rejects.toThrow(ConfigError);
  });
});

describe('burn-rate evaluation on an injected clock', () => {
  it('reads no data before any traffic, then a clean hour leaves the whole budget', async () => {
    const { app, advance } = await setup();
    await app.slo.sample();
    expect(byName(app, 'assignment-availability')).toMatchObject({ state: 'no_data', sli: null, budgetLeft: null, alerts: [] });
    await serve(app, advance, 60, { ok: 1000, errors: 0 });
    expect(byName(app, 'assignment-availability')).toMatchObject({ state: 'ok', sli: 1, budgetLeft: 1, alerts: [] });
  });

  it('computes SLI, budget left, burn rates per window and the Workbook alerts (hand-computed figures)', async () => {
    const { app, advance } = await setup();
    await app.slo.sample();
    await serve(app, advance, 60, { ok: 1000, errors: 0 });
    // Ten minutes with 10% server errors.
    await serve(app, advance, 10, { ok: 900, errors: 100 });
    const s = byName(app, 'assignment-availability');
    const burn = Object.fromEntries(s.burnRates.map((b) => [b.window, b.burnRate]));
    // 5m: 500 bad of 5000 = 10% over a 0.1% allowance; 1h: 1000 of 60000; 30m: 1000 of 30000; 6h and longer: all 70 minutes, 1000 of 70000.
    expect(burn['5m']).toBeCloseTo(100, 6);
    expect(burn['30m']).toBeCloseTo(1000 / 30000 / 0.001, 6);
    expect(burn['1h']).toBeCloseTo(1000 / 60000 / 0.001, 6);
    expect(burn['6h']).toBeCloseTo(1000 / 70000 / 0.001, 6);
    expect(burn['3d']).toBeCloseTo(1000 / 70000 / 0.001, 6);
    expect(burn['30d']).toBeCloseTo(1000 / 70000 / 0.001, 6);
    expect(s.sli).toBeCloseTo(1 - 1 / 70, 9);
    expect(s.budgetLeft).toBeCloseTo(1 - 1000 / 70000 / 0.001, 6);
    expect(s.alerts.map((a) => `${a.severity} ${a.long}/${a.short}`)).toEqual(['page 1h/5m', 'page 6h/30m', 'ticket 3d/6h']);
    expect(s.state).toBe('page');
    // The latency SLO has no observations yet: no data, no alert.
    expect(byName(app, 'assignment-latency').state).toBe('no_data');

    // Five clean minutes reset the short window: the 1h/5m page stops although the hour is still bad.
    await serve(app, advance, 5, { ok: 1000, errors: 0 });
    const after = byName(app, 'assignment-availability');
    expect(after.burnRates.find((b) => b.window === '5m')!.burnRate).toBe(0);
    expect(after.burnRates.find((b) => b.window === '1h')!.burnRate).toBeGreaterThan(14.4);
    expect(after.alerts.map((a) => `${a.severity} ${a.long}/${a.short}`)).toEqual(['page 6h/30m', 'ticket 3d/6h']);
  });

  it('reads latency from the histogram bucket at the threshold (25 ms)', async () => {
    const { app, advance } = await setup();
    const { duration } = servingMetrics(app);
    await app.slo.sample();
    advance(60_000);
    for (let i = 0; i < 96; i++) duration.observe({ route: 'ofrep' }, 0.001);
    for (let i = 0; i < 4; i++) duration.observe({ route: 'ofrep' }, 0.2);
    await app.slo.sample();
    const s = byName(app, 'assignment-latency');
    // 4 of 100 above 25 ms against a 1% allowance: burn 4 in every window, a ticket but no page.
    expect(s.sli).toBeCloseTo(0.96, 9);
    expect(s.burnRates.every((b) => Math.abs(b.burnRate! - 4) < 1e-9)).toBe(true);
    expect(s.alerts.map((a) => a.severity)).toEqual(['ticket']);
    expect(s.state).toBe('ticket');
  });

  it('refuses an unknown SLO name with the names there are', async () => {
    const { app } = await setup();
    expect(() => app.slo.status('nope')).toThrow(/no SLO named 'nope'/);
  });
});

describe('sample ring', () => {
  it('keeps 30 days in bounded memory and answers every window within its tier step', () => {
    const ring = new SampleRing();
    const start = Date.parse('2026-01-01T00:00:00Z');
    const step = 5 * 60_000;
    let t = start;
    for (let i = 0; t <= start + 31 * 86_400_000; i++, t += step) ring.push({ t, counts: [[0, i]] });
    const now = t - step;
    // 2 h at full rate (24), a day at one a minute (every 5-minute point, ~264), then one per 15 minutes (~2800).
    expect(ring.size).toBeLessThan(3300);
    expect(ring.at(now - 5 * 60_000)!.t).toBe(now - 5 * 60_000);
    expect(ring.at(now - 3_600_000)!.t).toBe(now - 3_600_000);
    expect(now - 86_400_000 * 3 - ring.at(now - 86_400_000 * 3)!.t).toBeLessThan(15 * 60_000);
    const month = ring.at(now - 30 * 86_400_000)!;
    expect(month.t).toBeLessThanOrEqual(now - 30 * 86_400_000);
    expect(now - 30 * 86_400_000 - month.t).toBeLessThan(15 * 60_000);
  });

  it('ignores a sample from the past (a clock moved back) and replaces one at the same instant', () => {
    const ring = new SampleRing();
    ring.push({ t: 1000, counts: [[0, 1]] });
    ring.push({ t: 500, counts: [[0, 9]] });
    ring.push({ t: 1000, counts: [[0, 2]] });
    expect(ring.size).toBe(1);
    expect(ring.latest()!.counts[0]).toEqual([0, 2]);
  });
});
