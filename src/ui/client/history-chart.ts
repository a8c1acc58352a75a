import * as Plot from '@observablehq/plot';
import { el, fmt, hiddenTable, PALETTE, type HistoryJson, type MetricJson } from './results-types.js';
import { stamp } from './plot-data.js';

type Series = HistoryJson['series'][number];
type Point = Series['points'][number] & { date: Date };

/**
 * The cumulative effect at each daily look with its interval: under an always-valid plan the band is
 * the confidence sequence, valid at every look at once. One vertical segment per day (data-day,
 * data-lower, data-upper) plus the band's area and the estimate's line.
 */
export function historyFigure(doc: Document, s: Series, m: MetricJson | undefined, method: string, width: number): HTMLElement {
  const points: Point[] = s.points.map((p) => ({ ...p, date: new Date(`${p.day}T00:00:00Z`) }));
  const name = m ? `${m.name} (${s.metricId})` : s.metricId;
  const band = method === 'always-valid' ? 'always-valid confidence sequence' : `${method} interval at each look`;
  const fig = el(doc, 'figure', { class: 'sl-history', 'data-history': `${s.metricId}/${s.variant}` });
  fig.append(el(doc, 'figcaption', {}, el(doc, 'strong', {}, `${name}, ${s.variant}`), ` — cumulative effect by day with its ${band}`));
  if (!points.length) {
    fig.append(el(doc, 'p', { class: 'sl-muted' }, 'No daily look yet.'));
    return fig;
  }
  const ys = [0, ...points.flatMap((p) => [p.lower, p.upper])];
  fig.append(
    Plot.plot({
      document: doc,
      width,
      height: 200,
      marginLeft: 60,
      x: {
        type: 'utc',
        label: null,
        ticks: points.length <= 14 ? points.map((p) => p.date) : undefined,
        tickFormat: (d: Date) => d.toISOString().slice(5, 10),
        ...(points.length === 1 ? { domain: [new Date(points[0].date.getTime() - 864e5), new Date(points[0].date.getTime() + 864e5)] } : {}),
      },
      y: { label: 'effect', domain: [Math.min(...ys), Math.max(...ys)], nice: true, grid: true },
      ariaLabel: `${name}, ${s.variant}: effect over time with its ${band}`,
      ariaDescription: points.map((p) => `${p.day}: ${fmt(p.estimate)} [${fmt(p.lower)}, ${fmt(p.upper)}]`).join('; '),
      marks: [
        Plot.areaY(points, { x: 'date', y1: 'lower', y2: 'upper', fill: PALETTE.band, fillOpacity: 0.18, curve: 'step-after' }),
        Plot.ruleY([0], { stroke: 'currentColor' }),
        Plot.ruleX(points, {
          x: 'date',
          y1: 'lower',
          y2: 'upper',
          stroke: PALETTE.band,
          strokeWidth: 3,
          title: (p: Point) => `${p.day}: ${fmt(p.estimate)} [${fmt(p.lower)}, ${fmt(p.upper)}]`,
          render: stamp(points, (p) => ({ day: p.day, estimate: String(p.estimate), lower: String(p.lower), upper: String(p.upper) })),
        }),
        Plot.line(points, { x: 'date', y: 'estimate', stroke: 'currentColor', strokeWidth: 1.5 }),
        Plot.dot(points, { x: 'date', y: 'estimate', fill: 'currentColor', r: 2.5 }),
      ],
    }),
  );
  fig.append(
    hiddenTable(
      doc,
      `${name}, ${s.variant}: effect by day`,
      ['day', 'estimate', 'lower', 'upper'],
      points.map((p) => [p.day, fmt(p.estimate), fmt(p.lower), fmt(p.upper)]),
    ),
  );
  return fig;
}
