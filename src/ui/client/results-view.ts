/**
 * The results view, drawn in the browser: shared by the MCP App (`ui://sealab/results.html`) and the
 * console's experiment page (`/ui/experiments/:id`). Browser code only (bundled by src/ui/bundle.ts);
 * no Node, no server imports beyond types. Charts are Observable Plot SVG (docs/adr/0016-results-mcp-app.md).
 *
 * Input: exactly what the API returns — `metrics` is get_metrics' structuredContent (the same JSON as
 * `GET /v1/experiments/{id}/metrics`), `ramp` get_ramp_status' (when known), `history` the effect over
 * time (get_metrics' `_meta["sealab/history"]`, or `GET /v1/experiments/{id}/metrics/history`).
 *
 * DOM contract, read by the browser tests of both the App and the console (keep it when redrawing):
 *   - the root gets `data-view="results"`;
 *   - every (metric, variant) effect drawn carries an element with
 *     `data-metric="<metricId>" data-variant="<variant>" data-estimate="<n>" data-lower="<n>" data-upper="<n>"`,
 *     the numbers exactly as the API returned them (String(number)) — the interval bar itself, an SVG rect;
 *   - the decision is an element with `data-decision="<ship|keep_running|roll_back|inconclusive>"`;
 *   - with history, each daily look of each series is an SVG element with `data-day data-estimate data-lower data-upper`
 *     inside `[data-history="<metricId>/<variant>"]`; with ramp data, each stage an element with `data-stage data-percent data-state`,
 *     and with ramp and history, each ramp event (history.ramp) an element with `data-ramp-event data-at data-percent`.
 */
import { effectFigure } from './effect-chart.js';
import { historyFigure } from './history-chart.js';
import { rampFigure } from './ramp-timeline.js';
import { resultsHeader } from './results-header.js';
import { el, type HistoryJson, type MetricsJson, type RampJson } from './results-types.js';
import { RESULTS_CSS } from './results-style.js';

export type { HistoryJson, MetricsJson, RampJson } from './results-types.js';

export interface ResultsViewInput {
  metrics: MetricsJson;
  ramp?: RampJson;
  history?: HistoryJson;
}

export function renderResults(root: HTMLElement, input: ResultsViewInput): void {
  const doc = root.ownerDocument;
  const { metrics: m, ramp, history } = input;
  root.replaceChildren();
  root.dataset.view = 'results';
  root.classList.add('sl-results');
  if (!doc.getElementById('sl-results-style')) doc.head.append(el(doc, 'style', { id: 'sl-results-style' }, RESULTS_CSS));
  const width = Math.max(320, Math.min(860, root.clientWidth || 640));
  root.append(resultsHeader(doc, m, ramp));

  const effects = el(
    doc,
    'section',
    { 'aria-labelledby': 'sl-effects' },
    el(doc, 'h3', { id: 'sl-effects' }, 'Effects (treatment − control, with the interval of the method in force)'),
  );
  for (const metric of m.metrics) effects.append(effectFigure(doc, metric, width));
  root.append(effects);

  const over = el(doc, 'section', { 'aria-labelledby': 'sl-over-time' }, el(doc, 'h3', { id: 'sl-over-time' }, 'Effect over time'));
  if (history?.series.length) {
    for (const s of history.series)
      over.append(
        historyFigure(
          doc,
          s,
          m.metrics.find((x) => x.metricId === s.metricId),
          history.method,
          width,
        ),
      );
  } else {
    over.append(el(doc, 'p', { class: 'sl-muted' }, 'No daily history was sent with this result.'));
  }
  root.append(over);

  if (ramp) root.append(el(doc, 'section', { 'aria-label': 'Ramp timeline' }, rampFigure(doc, ramp, width, history?.ramp ?? [])));
  root.append(el(doc, 'p', { class: 'sl-muted sl-note' }, m.methodNote));
}
