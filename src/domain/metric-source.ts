import type { MetricSource } from './schemas.js';

/**
 * The semantics of a metric's `source` (issue 14 item 3, ADR 0015): which raw product events feed a
 * unit's value, in which window around its first exposure, and how they aggregate. Pure: the metric
 * pipeline applies it incrementally at ingest, the tests apply it naively, and both must agree.
 */

/** A raw event's properties: a flat object of strings, numbers and booleans. */
export type EventProperties = Record<string, string | number | boolean>;

/** Where an event falls for one exposure: the post-exposure window (the value), the pre-exposure window (the CUPED covariate), or neither. */
export type Phase = 'post' | 'pre' | null;

/** The windows around a first exposure, as ISO 8601 UTC strings (compared as strings: every stored time has that one format). */
export interface ExposureWindows {
  /** Start of the pre-exposure window (inclusive); null: no start. */
  preFrom: string | null;
  /** The first exposure: the pre window ends before it, the post window starts at it. */
  exposedAt: string;
  /** End of the post-exposure window (exclusive); null: no end. */
  postTo: string | null;
}

const HOUR_MS = 3_600_000;

/**
 * Post: [exposedAt, exposedAt + windowHours). Pre: [exposedAt − windowHours, exposedAt), the same
 * length, so the covariate measures what the metric measures over a comparable span. Without a
 * window both are open-ended (all events after / all events before), as for pre-computed metrics.
 * The window length is rounded to whole milliseconds.
 */
export function windowsOf(exposedAt: string, windowHours: number | undefined): ExposureWindows {
  if (windowHours === undefined) return { preFrom: null, exposedAt, postTo: null };
  const at = Date.parse(exposedAt);
  const span = Math.round(windowHours * HOUR_MS);
  return { preFrom: new Date(at - span).toISOString(), exposedAt, postTo: new Date(at + span).toISOString() };
}

export function phaseOf(w: ExposureWindows, ts: string): Phase {
  if (ts >= w.exposedAt) return w.postTo === null || ts < w.postTo ? 'post' : null;
  return w.preFrom === null || ts >= w.preFrom ? 'pre' : null;
}

/** Every filter must hold: a scalar is equality, a list is "one of"; same JSON type (the string "1" is not the number 1); a missing property fails. */
export function matchesWhere(where: MetricSource['where'], props: EventProperties | null | undefined): boolean {
  if (!where) return true;
  for (const [key, want] of Object.entries(where)) {
    const got = props?.[key];
    if (got === undefined) return false;
    if (Array.isArray(want) ? !want.includes(got) : want !== got) return false;
  }
  return true;
}

/** Whether an event feeds the source at all (its name and every filter), whatever its time. */
export function eventMatches(source: MetricSource, name: string, props: EventProperties | null | undefined): boolean {
  return source.event === name && matchesWhere(source.where, props);
}

/**
 * A unit's value from its matching events in a window, given their sum of values and their count:
 * count → count; sum → sum; any → 1 if at least one, else 0; mean → sum / count, 0 with no events
 * (every exposed unit has a value; a per-event mean over the units that have events is a ratio metric).
 */
export function aggregateValue(aggregate: MetricSource['aggregate'], sum: number, count: number): number {
  switch (aggregate) {
    case 'count':
      return count;
    case 'sum':
      return sum;
    case 'any':
      return count > 0 ? 1 : 0;
    case 'mean':
      return count > 0 ? sum / count : 0;
  }
}

/** Winsorizes a unit's value at capMax (no cap: unchanged). */
export const capped = (value: number, capMax: number | undefined): number => (capMax === undefined ? value : Math.min(value, capMax));
