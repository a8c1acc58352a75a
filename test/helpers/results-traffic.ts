import type { SqliteContainer } from '../../src/container.js';
import type { SimulatedClock } from '../../src/systems/clock.js';

/**
 * Several days of traffic for a running demo experiment (control / focus), ingested day by day on a
 * simulated clock so the pipeline keeps one snapshot per day. Units are picked by arm (explicit
 * exposures), values are fixed: focus streams at 50%, control at 33%; crash-rate 5% in both; minutes-played one more in focus.
 */
export async function ingestDays(
  app: SqliteContainer,
  clock: SimulatedClock,
  experimentId: string,
  opts: { days: number; perArmPerDay: number; prefix?: string },
): Promise<void> {
  for (let day = 0; day < opts.days; day++) {
    const ts = clock.now().toISOString();
    const events: Record<string, unknown>[] = [];
    for (const variant of ['control', 'focus']) {
      for (let k = 0; k < opts.perArmPerDay; k++) {
        const unitId = `${opts.prefix ?? 'u'}-${variant}-${day}-${k}`;
        events.push({ id: `x-${unitId}`, type: 'exposure', unitId, experimentId, variant, ts });
        const streams = variant === 'focus' ? k % 2 === 0 : k % 3 === 0;
        events.push({ id: `s-${unitId}`, type: 'metric', unitId, metricId: 'stream-rate', value: streams ? 1 : 0, ts });
        events.push({ id: `c-${unitId}`, type: 'metric', unitId, metricId: 'crash-rate', value: k % 20 === 0 ? 1 : 0, ts });
        events.push({ id: `m-${unitId}`, type: 'metric', unitId, metricId: 'minutes-played', value: 30 + (k % 7) + (variant === 'focus' ? 1 : 0), ts });
      }
    }
    const r = await app.events.ingest({ events });
    if (r.rejected.length) throw new Error(`events refused: ${JSON.stringify(r.rejected.slice(0, 3))}`);
    clock.advance(24 * 3600_000);
  }
}
