import type { Registry } from 'prom-client';
import type { Sli } from './slo-schema.js';

/** Cumulative bad and total events of one SLI at one instant; null when its metric is not registered. */
export interface SliCount {
  bad: number;
  total: number;
}

type Value = { value: number; labels: Record<string, string | number>; metricName?: string };

const matches = (labels: Value['labels'], match: Record<string, string[]>) => Object.entries(match).every(([k, vs]) => vs.includes(String(labels[k] ?? '')));

async function valuesOf(registry: Registry, name: string): Promise<Value[] | null> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return null;
  return (await metric.get()).values as Value[];
}

const sum = (vs: Value[]) => vs.reduce((s, v) => s + v.value, 0);

/**
 * Reads an SLI's cumulative counts from the registry (prom-client `getSingleMetric(name).get()`).
 * Ratio and latency SLIs are counters already; a gauge SLI is not, so `gaugeSample` says whether
 * this sample was bad and the caller accumulates (one sample = one event).
 */
export async function readSli(registry: Registry, sli: Sli): Promise<SliCount | { gaugeBad: boolean } | null> {
  if (sli.kind === 'ratio') {
    const [total, bad] = await Promise.all([valuesOf(registry, sli.total.metric), valuesOf(registry, sli.bad.metric)]);
    if (!total || !bad) return null;
    return { total: sum(total.filter((v) => matches(v.labels, sli.total.match))), bad: sum(bad.filter((v) => matches(v.labels, sli.bad.match))) };
  }
  if (sli.kind === 'latency') {
    const values = await valuesOf(registry, sli.histogram);
    if (!values) return null;
    const mine = values.filter((v) => matches(v.labels, sli.match));
    const total = sum(mine.filter((v) => v.metricName === `${sli.histogram}_count`));
    const le = goodBucket(mine, sli.histogram, sli.thresholdSeconds);
    const good = le === null ? 0 : sum(mine.filter((v) => v.metricName === `${sli.histogram}_bucket` && v.labels.le === le));
    return { total, bad: Math.max(0, total - good) };
  }
  const values = await valuesOf(registry, sli.gauge);
  if (!values) return null;
  const mine = values.filter((v) => matches(v.labels, sli.match));
  return { gaugeBad: mine.length > 0 && Math.max(...mine.map((v) => v.value)) > sli.maxValue };
}

/** The bucket bound that counts good observations: the threshold itself, or the largest bound under it (stricter, never looser). */
export function goodBucket(values: Value[], histogram: string, threshold: number): number | null {
  const bounds = values
    .filter((v) => v.metricName === `${histogram}_bucket` && typeof v.labels.le === 'number' && v.labels.le <= threshold)
    .map((v) => v.labels.le as number);
  return bounds.length ? Math.max(...bounds) : null;
}
