import type { Counter, Histogram } from 'prom-client';
import { expect } from 'vitest';
import type { SqliteContainer } from '../../src/container.js';

const MINUTE = 60_000;

/** The container's own metric objects, by their contract names (src/ops/metrics.ts). */
export function servingMetrics(app: SqliteContainer) {
  const requests = app.slo.registry?.getSingleMetric('sealab_serving_requests_total') as Counter<'route' | 'outcome'> | undefined;
  const duration = app.slo.registry?.getSingleMetric('sealab_serving_duration_seconds') as Histogram<'route'> | undefined;
  expect(requests, 'sealab_serving_requests_total is registered').toBeDefined();
  expect(duration, 'sealab_serving_duration_seconds is registered').toBeDefined();
  return { requests: requests!, duration: duration! };
}

/**
 * `minutes` minutes of assignment traffic, a sample after each: `ok` good requests and `errors`
 * server errors per minute. `advance` moves the test's clock.
 */
export async function serve(app: SqliteContainer, advance: (ms: number) => void, minutes: number, perMinute: { ok: number; errors: number }) {
  const { requests } = servingMetrics(app);
  for (let m = 0; m < minutes; m++) {
    advance(MINUTE);
    requests.inc({ route: 'assignment', outcome: 'ok' }, perMinute.ok);
    if (perMinute.errors) requests.inc({ route: 'assignment', outcome: 'server_error' }, perMinute.errors);
    await app.slo.sample();
  }
}
