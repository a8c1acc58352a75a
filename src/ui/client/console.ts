/**
 * The console's page script (served as /ui/assets/console.js): fills in what is drawn in the
 * browser. The experiment page gets the shared results view (results-view.ts, the same drawing as
 * the MCP App) fed exactly what GET /v1/experiments/{id}/metrics, /ramp and /metrics/history answer; the SLO page gets
 * an Observable Plot chart of each SLO's error budget left. Browser code only; no framework.
 */
import * as Plot from '@observablehq/plot';
import { type ResultsViewInput, renderResults } from './results-view.js';

async function getJson(path: string): Promise<unknown> {
  const res = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  const body = (await res.json()) as { detail?: string; hint?: string };
  if (!res.ok) throw new Error(`${path}: ${body.detail ?? res.status}${body.hint ? ` — ${body.hint}` : ''}`);
  return body;
}

function failed(root: HTMLElement, err: unknown): void {
  const p = document.createElement('p');
  p.className = 'error';
  p.setAttribute('role', 'alert');
  p.textContent = `Could not load: ${err instanceof Error ? err.message : String(err)}`;
  root.replaceChildren(p);
  root.setAttribute('aria-busy', 'false');
}

async function experimentResults(root: HTMLElement): Promise<void> {
  const id = encodeURIComponent(root.dataset.experimentId ?? '');
  try {
    const [metrics, ramp, history] = await Promise.all([
      getJson(`/v1/experiments/${id}/metrics`),
      getJson(`/v1/experiments/${id}/ramp`),
      getJson(`/v1/experiments/${id}/metrics/history`),
    ]);
    renderResults(root, { metrics, ramp, history } as ResultsViewInput);
    root.setAttribute('aria-busy', 'false');
    root.dataset.loaded = 'true';
  } catch (err) {
    failed(root, err);
  }
}

const STATE_COLOUR: Record<string, string> = { ok: '#009E73', ticket: '#E69F00', page: '#D55E00', no_data: '#999999' };

interface SloRow {
  name: string;
  state: string;
  budgetLeft: number | null;
}

async function sloChart(root: HTMLElement): Promise<void> {
  try {
    const report = (await getJson('/v1/ops/slo')) as { slos: SloRow[] };
    const rows = report.slos.filter((s) => s.budgetLeft !== null);
    if (!rows.length) {
      root.textContent = 'No SLO has data yet: the chart appears once requests have been sampled.';
    } else {
      const low = Math.min(0, ...rows.map((s) => s.budgetLeft as number));
      const chart = Plot.plot({
        marginLeft: 200,
        marginRight: 56,
        width: 760,
        height: 40 + 28 * rows.length,
        x: { domain: [low, 1], label: 'error budget left →', grid: true },
        y: { label: null },
        ariaLabel: 'Error budget left per SLO',
        ariaDescription: rows.map((s) => `${s.name}: ${((s.budgetLeft as number) * 100).toFixed(1)}% left (${s.state})`).join('; '),
        marks: [
          Plot.barX(rows, { x: 'budgetLeft', y: 'name', fill: (d: SloRow) => STATE_COLOUR[d.state] ?? '#0072B2', sort: { y: 'x' } }),
          Plot.ruleX([0]),
          Plot.text(rows, { x: 'budgetLeft', y: 'name', text: (d: SloRow) => `${((d.budgetLeft as number) * 100).toFixed(1)}%`, dx: 4, textAnchor: 'start' }),
        ],
      });
      chart.dataset.chart = 'slo-budget';
      root.replaceChildren(chart);
    }
    root.dataset.loaded = 'true';
  } catch (err) {
    failed(root, err);
  }
}

function main(): void {
  const results = document.getElementById('results');
  if (results) void experimentResults(results);
  const slo = document.getElementById('slo-chart');
  if (slo) void sloChart(slo);
}

main();
