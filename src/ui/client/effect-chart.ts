import * as Plot from '@observablehq/plot';
import { el, fmt, hiddenTable, PALETTE, pct, type MetricJson, type VariantJson } from './results-types.js';
import { stamp } from './plot-data.js';

interface Row {
  metricId: string;
  variant: string;
  estimate: number;
  lower: number;
  upper: number;
  v: VariantJson;
}

const colourOf = (v: VariantJson) => (v.assessment === 'better' ? PALETTE.better : v.assessment === 'worse' ? PALETTE.worse : PALETTE.muted);

/**
 * Where a guardrail's non-inferiority margin lies on the effect axis (metric units): below zero when
 * higher is better, above when lower is. get_metrics' threshold is the margin's size under sequential
 * methods and already signed under fixed-horizon, so its magnitude is what counts.
 */
export function marginLine(m: MetricJson, v: VariantJson): number | null {
  if (m.role !== 'guardrail' || m.test !== 'non_inferiority') return null;
  const control = m.variants.find((c) => c.isControl)?.mean;
  const size = v.nonInferiority
    ? Math.abs(v.nonInferiority.threshold)
    : m.margin === null
      ? null
      : m.marginType === 'absolute'
        ? m.margin
        : control === null || control === undefined
          ? null
          : m.margin * Math.abs(control);
  if (size === null) return null;
  return m.direction === 'increase' ? -size : size;
}

/** One metric: each treatment's absolute effect as a bar from lower to upper against zero, its estimate as a tick, a guardrail's margin as a dashed rule. */
export function effectFigure(doc: Document, m: MetricJson, width: number): HTMLElement {
  const treatments = m.variants.filter((v) => !v.isControl);
  const rows: Row[] = treatments.flatMap((v) => (v.absolute ? [{ metricId: m.metricId, variant: v.variant, ...v.absolute, v }] : []));
  const margins = treatments.flatMap((v) => {
    const x = marginLine(m, v);
    return x === null ? [] : [{ variant: v.variant, x }];
  });
  const tags = [m.role, m.test === 'no_deterioration' ? 'no deterioration' : m.test === 'non_inferiority' ? 'non-inferiority' : ''].filter(Boolean).join(', ');
  const fig = el(doc, 'figure', { class: 'sl-metric', 'data-metric-figure': m.metricId });
  const title = `${m.name} (${m.metricId})`;
  fig.append(el(doc, 'figcaption', {}, el(doc, 'strong', {}, title), ` — ${tags}; ${m.direction === 'increase' ? 'higher is better' : 'lower is better'}`));
  for (const v of treatments) {
    const marks = [
      v.blind ? el(doc, 'span', { class: 'sl-badge sl-warn', 'data-blind': v.variant }, `${v.variant}: BLIND — no data in an arm yet`) : null,
      v.significant ? el(doc, 'span', { class: 'sl-badge', 'data-significant': v.variant }, `${v.variant}: significant (${v.assessment})`) : null,
      v.nonInferiority
        ? el(
            doc,
            'span',
            { class: `sl-badge${v.nonInferiority.nonInferior ? '' : ' sl-warn'}` },
            `${v.variant}: ${v.nonInferiority.nonInferior ? 'non-inferior' : 'NOT shown non-inferior'}`,
          )
        : null,
      !v.absolute && !v.blind ? el(doc, 'span', { class: 'sl-badge sl-muted' }, `${v.variant}: ${v.note ?? 'not computable'}`) : null,
    ].filter((x): x is HTMLSpanElement => x !== null);
    if (marks.length) fig.append(el(doc, 'p', { class: 'sl-marks' }, ...marks));
  }
  if (rows.length) {
    const xs = [0, ...rows.flatMap((r) => [r.lower, r.upper]), ...margins.map((g) => g.x)];
    const svg = Plot.plot({
      document: doc,
      width,
      height: 44 + 30 * rows.length,
      marginLeft: 90,
      x: { label: `effect (treatment − control), ${m.metricId}`, domain: [Math.min(...xs), Math.max(...xs)], nice: true, grid: true },
      y: { label: null, domain: rows.map((r) => r.variant) },
      ariaLabel: `${title}: effect with its interval`,
      ariaDescription: rows.map((r) => `${r.variant} ${fmt(r.estimate)} [${fmt(r.lower)}, ${fmt(r.upper)}]`).join('; '),
      marks: [
        Plot.ruleX([0], { stroke: 'currentColor', strokeWidth: 1.5 }),
        Plot.ruleX(margins, {
          x: 'x',
          stroke: PALETTE.margin,
          strokeDasharray: '5,3',
          strokeWidth: 2,
          title: (g: { x: number }) => `non-inferiority margin ${fmt(g.x)}`,
          render: stamp(margins, (g) => ({ margin: String(g.x), 'margin-variant': g.variant })),
        }),
        Plot.barX(rows, {
          x1: 'lower',
          x2: 'upper',
          y: 'variant',
          fill: (r: Row) => colourOf(r.v),
          fillOpacity: 0.55,
          insetTop: 6,
          insetBottom: 6,
          title: (r: Row) => `${r.variant}: ${fmt(r.estimate)} [${fmt(r.lower)}, ${fmt(r.upper)}]`,
          render: stamp(rows, (r) => ({
            metric: r.metricId,
            variant: r.variant,
            estimate: String(r.estimate),
            lower: String(r.lower),
            upper: String(r.upper),
          })),
        }),
        Plot.tickX(rows, { x: 'estimate', y: 'variant', stroke: 'currentColor', strokeWidth: 2.5 }),
      ],
    });
    fig.append(svg);
  }
  fig.append(
    hiddenTable(
      doc,
      `${title}: effect by variant`,
      ['variant', 'estimate', 'lower', 'upper', 'relative', 'p-value', 'assessment', 'margin'],
      treatments.map((v) => [
        v.variant,
        fmt(v.absolute?.estimate),
        fmt(v.absolute?.lower),
        fmt(v.absolute?.upper),
        v.relative ? `${pct(v.relative.estimate)} [${pct(v.relative.lower)}, ${pct(v.relative.upper)}]` : 'n/a',
        fmt(v.pValue),
        v.blind ? 'blind' : v.assessment,
        fmt(marginLine(m, v)),
      ]),
    ),
  );
  return fig;
}
