/**
 * The results view, drawn in the browser: shared by the MCP App (`ui://sealab/results.html`) and the
 * console's experiment page (`/ui/experiments/:id`). Browser code only (bundled by src/ui/bundle.ts);
 * no Node, no server imports beyond types.
 *
 * Input: exactly what the API returns — `metrics` is get_metrics' structuredContent (the same JSON as
 * `GET /v1/experiments/{id}/metrics`), `ramp` get_ramp_status' (when known).
 *
 * DOM contract, read by the browser tests of both the App and the console (keep it when redrawing):
 *   - the root gets `data-view="results"`;
 *   - every (metric, variant) effect drawn carries an element with
 *     `data-metric="<metricId>" data-variant="<variant>" data-estimate="<n>" data-lower="<n>" data-upper="<n>"`,
 *     the numbers exactly as the API returned them (String(number));
 *   - the decision is an element with `data-decision="<ship|keep_running|roll_back|inconclusive>"`.
 *
 * STUB (session 21 scaffolding): a plain table. The MCP App helper replaces the drawing with charts
 * (interval bars against zero, margins, the effect over time with its confidence sequence, the ramp
 * timeline), keeping the signature and the DOM contract.
 */

export type MetricsJson = any;
export type RampJson = any;

export interface ResultsViewInput {
  metrics: MetricsJson;
  ramp?: RampJson;
}

export function renderResults(root: HTMLElement, input: ResultsViewInput): void {
  const doc = root.ownerDocument;
  root.replaceChildren();
  root.dataset.view = 'results';
  const decision = doc.createElement('p');
  const d = input.metrics?.decision?.decision ?? 'keep_running';
  decision.dataset.decision = d;
  decision.textContent = `Decision: ${d}`;
  root.append(decision);
  const table = doc.createElement('table');
  const cap = doc.createElement('caption');
  cap.textContent = 'Effects by metric and variant';
  table.append(cap);
  for (const m of input.metrics?.metrics ?? []) {
    for (const v of m.variants ?? []) {
      if (!v.absolute) continue;
      const tr = doc.createElement('tr');
      tr.dataset.metric = m.metricId;
      tr.dataset.variant = v.variant;
      tr.dataset.estimate = String(v.absolute.estimate);
      tr.dataset.lower = String(v.absolute.lower);
      tr.dataset.upper = String(v.absolute.upper);
      tr.textContent = `${m.metricId} ${v.variant}: ${v.absolute.estimate} [${v.absolute.lower}, ${v.absolute.upper}]`;
      table.append(tr);
    }
  }
  root.append(table);
}
