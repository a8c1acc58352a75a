import type { SurfaceView } from '../../app/catalog/catalog-service.js';
import type { Experiment } from '../../domain/schemas.js';
import { bucketMap } from './bucket-map.js';
import { type Html, html } from './html.js';

/** A surface: its slots with the default layout, and the bucket map of who owns which buckets. */
export function surfaceBody(
  s: SurfaceView,
  layout: Record<string, string | null>,
  titleOf: (contentId: string) => string | undefined,
  holding: Experiment[],
): Html {
  const overriders = (slotId: string) => s.runningExperiments.filter((e) => e.slots.includes(slotId));
  const owners = [
    ...(s.holdbacks ?? []).map((h) => ({ kind: 'holdback' as const, id: h.id, label: `Holdback ${h.name}`, ranges: h.buckets })),
    ...holding.map((e) => ({ kind: 'experiment' as const, id: e.id, label: `${e.key} (${e.status})`, href: `/ui/experiments/${e.id}`, ranges: e.buckets })),
  ];
  return html`<p class="lead">${s.description}</p>
<dl class="facts">
<dt>Platforms</dt><dd>${s.platforms.join(', ')}</dd>
<dt>Daily traffic</dt><dd>${s.dailyTraffic.toLocaleString('en-US')} units</dd>
<dt>Buckets</dt><dd>${s.bucketCount}; ${s.freeBuckets} (${s.freePercent}%) owned by no experiment</dd>
</dl>
<section aria-labelledby="slots-h">
<h2 id="slots-h">Slots and default layout</h2>
<table>
<caption>Slots of ${s.name} in order, with the content each shows by default</caption>
<thead><tr><th scope="col">Position</th><th scope="col">Slot</th><th scope="col">Accepts</th><th scope="col">Default content</th><th scope="col">Experiments overriding it</th></tr></thead>
<tbody>${[...s.slots]
    .sort((a, b) => a.position - b.position)
    .map((slot) => {
      const content = layout[slot.id];
      const over = overriders(slot.id);
      return html`<tr data-slot="${slot.id}"><td>${slot.position}</td><th scope="row">${slot.name}<br><span class="small">${slot.id}${slot.optional ? ', optional' : ''}</span></th><td>${slot.accepts.join(', ')}</td><td data-default-content="${content ?? ''}">${content ? html`${titleOf(content) ?? content} <span class="small">(${content})</span>` : 'empty'}</td><td>${over.length ? over.map((e, i) => html`${i ? ', ' : ''}<a href="/ui/experiments/${e.id}">${e.key}</a>`) : '—'}</td></tr>`;
    })}</tbody>
</table>
</section>
<section aria-labelledby="buckets-h">
<h2 id="buckets-h">Buckets</h2>
${bucketMap(s.bucketCount, owners)}
</section>`;
}
