import type { SloReportView } from '../../ops/slo/slo-view.js';
import { type Html, html, num, pct } from './html.js';

/**
 * sealab's own SLOs: the table is the record (and the charts' text alternative); the page script
 * draws the error budget left per SLO from GET /v1/ops/slo, the same numbers.
 */
export function sloBody(v: SloReportView): Html {
  const windows = v.slos.length ? Object.keys(v.slos[0].burnRates) : [];
  return html`<p>SLO file ${v.version}; ${v.samples} samples since ${v.since ?? 'never'}; as of ${v.at}.</p>
<figure>
<figcaption id="slo-chart-cap">Error budget left per SLO (1 = untouched, 0 = spent); the table below has every number.</figcaption>
<div id="slo-chart" aria-describedby="slo-chart-cap"></div>
</figure>
<table class="slo">
<caption>SLOs: objective, SLI over 30 days, budget left, state and burn rates per window</caption>
<thead><tr><th scope="col">SLO</th><th scope="col">Objective</th><th scope="col">SLI</th><th scope="col">Budget left</th><th scope="col">State</th>${windows.map((w) => html`<th scope="col">Burn ${w}</th>`)}<th scope="col">Alerts</th></tr></thead>
<tbody>${v.slos.map(
    (s) =>
      html`<tr data-slo="${s.name}" data-budget-left="${s.budgetLeft === null ? '' : String(s.budgetLeft)}"><th scope="row">${s.name}<br><span class="small">${s.category}</span></th><td>${pct(s.objective, 3)}</td><td>${pct(s.sli, 3)}</td><td>${pct(s.budgetLeft)}</td><td><span class="state state-${s.state}">${s.state}</span></td>${windows.map((w) => html`<td>${num(s.burnRates[w as keyof typeof s.burnRates], 2)}</td>`)}<td>${s.alerts.length ? s.alerts.map((a) => `${a.severity} ${a.long}/${a.short} > ${a.burnRate}×`).join('; ') : 'none'}</td></tr>`,
  )}</tbody>
</table>`;
}
