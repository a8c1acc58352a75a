import { el, fmt, type MetricsJson, type RampJson } from './results-types.js';

type Pending = MetricsJson['pending'][number];

const pendingText = (p: Pending) =>
  p.kind === 'sample'
    ? `sample: ${p.have} of ${p.need} units${p.expectedAt ? `, expected ${p.expectedAt.slice(0, 10)}` : ''}`
    : `duration: day ${p.haveDays} of ${p.needDays}${p.metAt ? `, met ${p.metAt.slice(0, 10)}` : ''}`;

/** How old the data is, against when the analysis ran (both from the answer, so the view needs no clock). */
function freshness(m: MetricsJson): string {
  if (!m.dataUpdatedAt) return 'no data yet';
  const minutes = Math.max(0, (Date.parse(m.computedAt) - Date.parse(m.dataUpdatedAt)) / 60_000);
  const age = minutes < 1 ? 'just now' : minutes < 120 ? `${Math.round(minutes)} min before` : `${fmt(minutes / 60)} h before`;
  return `${m.dataUpdatedAt} (${age} the analysis at ${m.computedAt})`;
}

/** Status, ramp stage, units per arm, SRM, freshness, and the decision with its reasons, blockers and what is pending. */
export function resultsHeader(doc: Document, m: MetricsJson, ramp: RampJson | undefined): HTMLElement {
  const d = m.decision;
  const item = (term: string, ...value: (Node | string)[]) => [el(doc, 'dt', {}, term), el(doc, 'dd', {}, ...value)];
  const srm = m.srm.mismatch
    ? el(doc, 'span', { class: 'sl-badge sl-warn', 'data-srm': 'mismatch' }, `SRM mismatch (p=${fmt(m.srm.pValue)}): trust nothing`)
    : el(
        doc,
        'span',
        { class: `sl-badge${m.srm.checked ? '' : ' sl-muted'}`, 'data-srm': m.srm.checked ? 'ok' : 'unchecked' },
        m.srm.checked ? `SRM ok (p=${fmt(m.srm.pValue)})` : m.srm.note,
      );
  const header = el(doc, 'header', { class: 'sl-header' });
  header.append(
    el(doc, 'h2', {}, `${m.key} `, el(doc, 'span', { class: 'sl-muted' }, `(${m.status}, v${m.version}, ${m.method})`)),
    el(
      doc,
      'dl',
      {},
      ...item('Status', m.status),
      ...item('Ramp stage', ramp ? `${ramp.stage} of ${ramp.stageCount} at ${ramp.allocationPercent}%` : 'not shown (get_ramp_status)'),
      ...item('Units per arm', m.exposures.map((x) => `${x.variant} ${x.units} (weight ${x.weight})`).join(', ')),
      ...item(
        'Sample',
        `${m.sample.observedTotal} of ${m.sample.plannedTotal} planned (${Math.round(100 * m.sample.fractionOfPlan)}%), day ${Math.floor(m.sample.daysRunning ?? 0)} of ${m.sample.requiredDays}`,
      ),
      ...item('SRM', srm),
      ...item('Data', freshness(m)),
    ),
  );
  const decision = el(
    doc,
    'section',
    { class: `sl-decision sl-decision-${d.decision}`, 'data-decision': d.decision, 'aria-label': 'Decision' },
    el(doc, 'h3', {}, `Decision: ${d.decision.replace('_', ' ')}${d.variant ? ` (${d.variant})` : ''}`),
  );
  const list = (title: string, items: string[], attr: string) =>
    items.length ? [el(doc, 'h4', {}, title), el(doc, 'ul', { [attr]: String(items.length) }, ...items.map((x) => el(doc, 'li', {}, x)))] : [];
  decision.append(
    ...list('Reasons', d.reasons, 'data-reasons'),
    ...list('Blockers', d.blockers, 'data-blockers'),
    ...list('Pending', d.pending.map(pendingText), 'data-pending'),
  );
  header.append(decision);
  return header;
}
