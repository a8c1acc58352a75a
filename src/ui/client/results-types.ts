/**
 * What the results view draws, typed from the tools' own output schemas (type-only imports: nothing of
 * zod or the server reaches the browser bundle).
 */
import type { z } from 'zod';
import type { getMetrics } from '../../../tools/get-metrics.js';
import type { RampStatusSchema } from '../../../tools/get-ramp-status.js';
import type { MetricsHistory } from '../../app/results/metrics-history.js';

/** get_metrics' structuredContent, the same JSON as GET /v1/experiments/{id}/metrics. */
export type MetricsJson = z.infer<typeof getMetrics.outputSchema>;
/** get_ramp_status' structuredContent. */
export type RampJson = z.infer<typeof RampStatusSchema>;
/** The effect over time: get_metrics' `_meta["sealab/history"]`, or GET /v1/experiments/{id}/metrics/history. */
export type HistoryJson = MetricsHistory;

export type MetricJson = MetricsJson['metrics'][number];
export type VariantJson = MetricJson['variants'][number];

/** Okabe & Ito (2008): distinguishable with every common colour-vision deficiency. */
export const PALETTE = {
  better: '#009E73', // bluish green
  worse: '#D55E00', // vermillion
  neutral: '#56B4E9', // sky blue
  muted: '#999999',
  margin: '#E69F00', // orange
  band: '#0072B2', // blue
  current: '#CC79A7', // reddish purple
} as const;

/** Numbers for people: 4 significant digits, as the text rendering of get_metrics does. */
export const fmt = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : Number(x.toPrecision(4)).toString());
export const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(2)}%`);

/** Builds an element with attributes and children, text escaped by the DOM. */
export function el<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** A table only screen readers see: the numbers behind a chart. */
export function hiddenTable(doc: Document, caption: string, head: string[], rows: string[][]): HTMLTableElement {
  return el(
    doc,
    'table',
    { class: 'sl-sr-only' },
    el(doc, 'caption', {}, caption),
    el(doc, 'thead', {}, el(doc, 'tr', {}, ...head.map((h) => el(doc, 'th', { scope: 'col' }, h)))),
    el(doc, 'tbody', {}, ...rows.map((r) => el(doc, 'tr', {}, ...r.map((c) => el(doc, 'td', {}, c))))),
  );
}
