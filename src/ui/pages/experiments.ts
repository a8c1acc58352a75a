import type { Experiment } from '../../domain/schemas.js';
import { type Html, html } from './html.js';

export const STATUSES = ['draft', 'running', 'paused', 'concluded', 'archived'] as const;

export interface ExperimentsFilter {
  surface?: string;
  status?: string;
}

const option = (value: string, label: string, selected: boolean) => html`<option value="${value}"${selected ? html` selected` : ''}>${label}</option>`;

/** The filter form: two labelled selects and a submit button, a plain GET form (keyboard and back button work). */
function filters(surfaces: readonly { id: string; name: string }[], f: ExperimentsFilter): Html {
  return html`<form method="get" action="/ui" class="filters" aria-label="Filter experiments">
<label for="f-surface">Surface</label>
<select id="f-surface" name="surface">${option('', 'All surfaces', !f.surface)}${surfaces.map((s) => option(s.id, s.name, f.surface === s.id))}</select>
<label for="f-status">Status</label>
<select id="f-status" name="status">${option('', 'Any status', !f.status)}${STATUSES.map((s) => option(s, s, f.status === s))}</select>
<button type="submit">Apply filters</button>
</form>`;
}

function table(surface: { id: string; name: string }, rows: Experiment[]): Html {
  return html`<section aria-labelledby="s-${surface.id}">
<h2 id="s-${surface.id}">${surface.name} <a class="small" href="/ui/surfaces/${surface.id}">surface page</a></h2>
${
  rows.length
    ? html`<table>
<caption>Experiments on ${surface.name} (${rows.length})</caption>
<thead><tr><th scope="col">Experiment</th><th scope="col">Status</th><th scope="col">Allocation</th><th scope="col">Owner</th><th scope="col">Started</th></tr></thead>
<tbody>${rows.map(
        (e) => html`<tr data-experiment="${e.id}">
<th scope="row"><a href="/ui/experiments/${e.id}">${e.key}</a><br><span class="small">${e.name}</span></th>
<td><span class="status status-${e.status}">${e.status}${e.outcome ? html` (${e.outcome})` : ''}</span></td>
<td>${e.allocationPercent}%</td><td>${e.owner}</td><td>${e.startedAt ? e.startedAt.slice(0, 16).replace('T', ' ') : '—'}</td>
</tr>`,
      )}</tbody>
</table>`
    : html`<p>No experiment matches on this surface.</p>`
}
</section>`;
}

/** Experiments by surface and status. */
export function experimentsBody(surfaces: readonly { id: string; name: string }[], experiments: Experiment[], f: ExperimentsFilter): Html {
  const shown = surfaces.filter((s) => !f.surface || s.id === f.surface);
  const matching = experiments.filter((e) => !f.status || e.status === f.status);
  return html`${filters(surfaces, f)}
<p role="status">${matching.length} experiment${matching.length === 1 ? '' : 's'}${f.status ? html` with status ${f.status}` : ''}.</p>
${shown.map((s) =>
  table(
    s,
    matching.filter((e) => e.surfaceId === s.id),
  ),
)}`;
}
