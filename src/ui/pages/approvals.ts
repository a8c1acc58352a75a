import type { ApprovalRequest } from '../../store/approval-repo.js';
import { type Html, html } from './html.js';

export interface ApprovalsView {
  pending: ApprovalRequest[];
  decided: ApprovalRequest[];
  canDecide: boolean;
  principal: string;
  csrf: string;
  /** The outcome of the last decision, shown once at the top. */
  notice?: { kind: 'ok' | 'error'; text: string };
}

const when = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '—');

/**
 * One pending request with its two decisions. Each is its own form (posting the CSRF token), so Tab
 * reaches reason → Approve → reject reason → Reject in reading order and Enter submits the focused one.
 */
function pendingCard(a: ApprovalRequest, v: ApprovalsView): Html {
  const own = a.requesterPrincipal === v.principal;
  return html`<article class="card" id="${a.id}" data-approval="${a.id}" aria-labelledby="${a.id}-h">
<h3 id="${a.id}-h">${a.summary}</h3>
<dl class="facts">
<dt>Step</dt><dd>${a.step} on <a href="/ui/experiments/${a.experimentId}">${a.experimentId}</a> (version ${a.experimentVersion})</dd>
<dt>Requested by</dt><dd>${a.requester}, ${when(a.createdAt)} UTC</dd>
<dt>Why held</dt><dd>${a.policyReason ?? '—'}</dd>
${a.note ? html`<dt>Requester's note</dt><dd>${a.note}</dd>` : ''}
<dt>Expires</dt><dd>${when(a.expiresAt)} UTC</dd>
</dl>
${
  !v.canDecide
    ? html`<p class="hint">Deciding needs the <code>approve</code> scope; ${v.principal} does not have it.</p>`
    : html`${own ? html`<p class="hint">You made this request: the policy may refuse your own decision.</p>` : ''}
<div class="decide">
<form method="post" action="/ui/approvals/${a.id}/approve" class="inline">
<input type="hidden" name="csrf" value="${v.csrf}">
<label for="${a.id}-approve-reason">Approval note (optional)</label>
<input id="${a.id}-approve-reason" name="reason" maxlength="500">
<button type="submit" class="approve" data-action="approve">Approve</button>
</form>
<form method="post" action="/ui/approvals/${a.id}/reject" class="inline">
<input type="hidden" name="csrf" value="${v.csrf}">
<label for="${a.id}-reject-reason">Reason to reject (required)</label>
<input id="${a.id}-reject-reason" name="reason" required minlength="3" maxlength="500">
<button type="submit" class="reject" data-action="reject">Reject</button>
</form>
</div>`
}
</article>`;
}

/** The approvals queue: pending requests first, each with approve and reject, then recent decisions. */
export function approvalsBody(v: ApprovalsView): Html {
  return html`${v.notice ? html`<p class="notice ${v.notice.kind}" role="${v.notice.kind === 'error' ? 'alert' : 'status'}" id="notice">${v.notice.text}</p>` : ''}
<section aria-labelledby="pending-h">
<h2 id="pending-h">Pending (${v.pending.length})</h2>
${v.pending.length ? v.pending.map((a) => pendingCard(a, v)) : html`<p>Nothing waits for a decision.</p>`}
</section>
<section aria-labelledby="decided-h">
<h2 id="decided-h">Recently decided</h2>
${
  v.decided.length
    ? html`<table>
<caption>Decided, expired or failed requests, newest first</caption>
<thead><tr><th scope="col">Request</th><th scope="col">Status</th><th scope="col">Decided by</th><th scope="col">Reason</th><th scope="col">When (UTC)</th></tr></thead>
<tbody>${v.decided.map(
        (a) =>
          html`<tr id="${a.id}" data-approval="${a.id}" data-status="${a.status}"><th scope="row">${a.summary}<br><span class="small">${a.id} · requested by ${a.requester}</span></th><td><span class="status status-${a.status}">${a.status}</span>${a.error ? html`<br><span class="small">${a.error.code}: ${a.error.message}</span>` : ''}</td><td>${a.decidedBy ?? '—'}</td><td>${a.decisionReason ?? '—'}</td><td>${when(a.decidedAt)}</td></tr>`,
      )}</tbody>
</table>`
    : html`<p>No decision yet.</p>`
}
</section>`;
}
