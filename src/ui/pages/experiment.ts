import type { RampStatus } from '../../app/ramp/ramp-scheduler.js';
import type { Experiment } from '../../domain/schemas.js';
import type { ApprovalRequest } from '../../store/approval-repo.js';
import type { AuditEntry } from '../../store/audit-repo.js';
import { type Html, html } from './html.js';

const when = (iso: string | null) => (iso ? iso.slice(0, 19).replace('T', ' ') : '—');

function config(e: Experiment): Html {
  return html`<section aria-labelledby="config-h">
<h2 id="config-h">Configuration</h2>
<dl class="facts">
<dt>Key</dt><dd>${e.key}</dd>
<dt>Status</dt><dd><span class="status status-${e.status}">${e.status}${e.outcome ? html` (${e.outcome})` : ''}</span> · version ${e.version}</dd>
<dt>Surface</dt><dd><a href="/ui/surfaces/${e.surfaceId}">${e.surfaceId}</a></dd>
<dt>Owner</dt><dd>${e.owner}</dd>
<dt>Hypothesis</dt><dd>${e.hypothesis}</dd>
<dt>Allocation</dt><dd>${e.allocationPercent}% of traffic; ramp plan ${e.rampPlan.stages.length ? e.rampPlan.stages.map((s) => `${s}%`).join(' → ') : 'none'}</dd>
<dt>Buckets</dt><dd>${e.buckets.length ? e.buckets.map(([a, b]) => `[${a}, ${b})`).join(', ') : 'none'}</dd>
<dt>Analysis</dt><dd>α ${e.analysisPlan.alpha}, power ${e.analysisPlan.power}, MDE ${e.analysisPlan.mde}, ${e.analysisPlan.sequential ? 'always-valid (sequential)' : 'fixed horizon'}, ${e.analysisPlan.durationDays} days</dd>
<dt>Started</dt><dd>${when(e.startedAt)}</dd>
<dt>Ended</dt><dd>${when(e.endedAt)}</dd>
</dl>
<table>
<caption>Variants</caption>
<thead><tr><th scope="col">Variant</th><th scope="col">Weight</th><th scope="col">Slot overrides</th></tr></thead>
<tbody>${e.variants.map(
    (v) =>
      html`<tr><th scope="row">${v.key}${v.isControl ? ' (control)' : ''}</th><td>${v.weight}</td><td>${v.overrides.length ? v.overrides.map((o) => `${o.slotId} → ${o.contentId ?? 'hidden'}`).join('; ') : 'none (current layout)'}</td></tr>`,
  )}</tbody>
</table>
<table>
<caption>Metrics</caption>
<thead><tr><th scope="col">Metric</th><th scope="col">Role</th><th scope="col">Test</th></tr></thead>
<tbody>
${e.successMetrics.map((m) => html`<tr><th scope="row">${m}</th><td>success</td><td>superiority</td></tr>`)}
${e.guardrails.map((g) => html`<tr><th scope="row">${g.metricId}</th><td>guardrail</td><td>${g.test ?? 'non_inferiority'}, margin ${g.margin}</td></tr>`)}
</tbody>
</table>
</section>`;
}

function ramp(r: RampStatus): Html {
  return html`<section aria-labelledby="ramp-h">
<h2 id="ramp-h">Ramp</h2>
<p data-ramp-stage="${r.stage}" data-ramp-allocation="${r.allocationPercent}">Stage <strong>${r.stage} of ${r.stageCount}</strong> at <strong>${r.allocationPercent}%</strong>${r.nextPercent !== null ? html`, next ${r.nextPercent}%` : ''}; ${r.hoursInStage === null ? 'not started' : html`${Math.round(r.hoursInStage * 10) / 10} h in stage (minimum ${r.minHours} h)`}.</p>
<p>Next action: <strong>${r.nextAction}</strong> — ${r.reason}${r.hold ? html` (held by ${r.hold.actor}: ${r.hold.reason})` : ''}${r.breaker.tripped ? html` · <strong>circuit breaker tripped</strong>: ${r.breaker.reasons.join('; ')}` : ''}</p>
<ul class="checks" aria-label="Ramp gate checks">${r.gate.checks.map(
    (c) =>
      html`<li class="${c.pass ? 'pass' : 'fail'}"><span class="mark" aria-hidden="true">${c.pass ? '✓' : '✗'}</span> <span class="visually-hidden">${c.pass ? 'passes' : 'fails'}:</span> ${c.name}: ${c.detail}</li>`,
  )}</ul>
</section>`;
}

function approvals(list: ApprovalRequest[]): Html {
  if (!list.length) return html``;
  return html`<section aria-labelledby="approvals-h">
<h2 id="approvals-h">Approval requests</h2>
<ul>${list.map((a) => html`<li><a href="/ui/approvals#${a.id}">${a.id}</a>: ${a.summary} — <span class="status status-${a.status}">${a.status}</span>${a.decidedBy ? html` by ${a.decidedBy}` : ''}</li>`)}</ul>
</section>`;
}

function confirmation(c: AuditEntry['confirmation']): Html | string {
  if (!c) return '—';
  return html`${c.via}: ${c.reason}${c.approvedBy ? html` (approved by <strong>${c.approvedBy}</strong>)` : ''}`;
}

/** The audit trail: who did what, through which interface, why, and how it was confirmed. */
export function auditTable(rows: AuditEntry[]): Html {
  return html`<section aria-labelledby="audit-h">
<h2 id="audit-h">Audit trail</h2>
<table class="audit">
<caption>Audit trail, newest first (${rows.length} rows)</caption>
<thead><tr><th scope="col">When (UTC)</th><th scope="col">Actor</th><th scope="col">Operation</th><th scope="col">Reason</th><th scope="col">Confirmation</th></tr></thead>
<tbody>${rows.map(
    (a) =>
      html`<tr data-audit-id="${a.id}"><td>${when(a.at)}</td><td data-actor>${a.actor}${a.onBehalfOf ? html`<br><span class="small">for ${a.onBehalfOf}</span>` : ''}</td><td>${a.operation}<br><span class="small">${a.interface} · ${a.entityType}</span></td><td>${a.rationale ?? '—'}</td><td>${confirmation(a.confirmation)}</td></tr>`,
  )}</tbody>
</table>
</section>`;
}

/** One experiment: configuration, results (drawn in the browser from the API), ramp, approvals, audit trail. */
export function experimentBody(e: Experiment, r: RampStatus, list: ApprovalRequest[], audit: AuditEntry[]): Html {
  return html`<p class="lead">${e.name}</p>
<section aria-labelledby="results-h">
<h2 id="results-h">Results</h2>
<div id="results" data-experiment-id="${e.id}" aria-live="polite" aria-busy="true"><p>Loading results from <a href="/v1/experiments/${e.id}/metrics">/v1/experiments/${e.id}/metrics</a>…</p></div>
<noscript><p>Results are drawn by a script; read them as JSON at <a href="/v1/experiments/${e.id}/metrics">/v1/experiments/${e.id}/metrics</a>.</p></noscript>
</section>
${ramp(r)}
${config(e)}
${approvals(list)}
${auditTable(audit)}`;
}
