import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulation } from '../../src/cli/simulate.js';
import type { SqliteContainer } from '../../src/container.js';
import type { HttpApp } from '../../src/server/http-app.js';
import { createContainer } from '../../src/container.js';
import { appFetch, testHttp } from '../helpers/app.js';

let app: SqliteContainer;
let http: HttpApp;
beforeAll(async () => {
  // Deterministic ids: the variant split hashes the experiment id, so the seeded run is reproducible.
  let n = 0;
  app = await createContainer({ dbFile: ':memory:', newId: (prefix) => `${prefix}_sim${String(++n).padStart(12, '0')}` });
  http = testHttp(app);
});
afterAll(async () => {
  await http.close();
  app.close();
});

describe('sealab simulate → get_metrics', () => {
  it('recovers a known true effect within its interval', async () => {
    const TRUE_EFFECT = 0.15; // stream rate 0.32 → 0.368 in treatment
    const lines: string[] = [];
    const r = await runSimulation({ url: 'http://127.0.0.1', units: 20_000, effect: TRUE_EFFECT, seed: 7, out: (l) => lines.push(l), fetch: appFetch(http) });
    expect(r.exposed).toBeGreaterThan(3000); // 20% allocation of 20,000 units
    const report = await app.metrics.report(r.experimentId);
    expect(report.exposures.reduce((s, e) => s + e.units, 0)).toBe(r.exposed);
    expect(report.srm.mismatch).toBe(false);
    const stream = report.metrics.find((m) => m.metricId === 'stream-rate')!.variants.find((v) => !v.isControl)!;
    expect(stream.relative!.lower).toBeLessThan(TRUE_EFFECT);
    expect(stream.relative!.upper).toBeGreaterThan(TRUE_EFFECT);
    expect(Math.abs(stream.relative!.estimate - TRUE_EFFECT)).toBeLessThan(0.08);
    // Latency has no true effect: its interval covers 0.
    const latency = report.metrics.find((m) => m.metricId === 'latency-ms')!.variants.find((v) => !v.isControl)!;
    expect(latency.absolute!.lower).toBeLessThan(0);
    expect(latency.absolute!.upper).toBeGreaterThan(0);
    expect(lines.at(-1)).toMatch(/get_metrics/);
  });
});
