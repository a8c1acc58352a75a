import type { Container } from '../container.js';
import { AppError } from '../errors.js';

/** Prometheus' text exposition of the container's registry; 404 with the switch to turn them on when SEALAB_METRICS=off. */
export async function metricsAnswer(container: Container): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const m = container.opsMetrics;
  if (!m) throw new AppError('NOT_FOUND', 'metrics are off on this server', 'Start it without SEALAB_METRICS=off to expose /metrics.');
  return { status: 200, headers: { 'content-type': m.registry.contentType }, body: await m.registry.metrics() };
}
