import { freeRanges, rangesSize } from '../../domain/assignment.js';
import type { Ranges } from '../../domain/schemas.js';
import { type Html, html } from './html.js';

/** Okabe–Ito, without black (text) and yellow (too light on white): distinguishable with every common colour-vision deficiency. */
export const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00'] as const;

export interface BucketOwner {
  kind: 'experiment' | 'holdback' | 'free';
  id: string;
  label: string;
  href?: string;
  ranges: Ranges;
}

const W = 760;
const LABEL = 200;
const LANE = 30;
const AXIS = 28;

/**
 * The bucket map of a surface: one lane per owner (experiments may share buckets when their slots
 * are disjoint, so lanes rather than one bar), bucket ranges [start, end) drawn over [0, bucketCount),
 * with the free buckets last. Every range is a rect carrying its owner and bounds as data attributes;
 * the table after it is the text alternative with the same numbers.
 */
export function bucketMap(bucketCount: number, owners: BucketOwner[]): Html {
  const taken = owners.filter((o) => o.kind !== 'free').flatMap((o) => o.ranges);
  const lanes: BucketOwner[] = [...owners, { kind: 'free', id: 'free', label: 'Free', ranges: freeRanges(bucketCount, taken) }];
  const height = AXIS + lanes.length * LANE + 6;
  const x = (b: number) => LABEL + ((W - LABEL - 10) * b) / bucketCount;
  const fill = (o: BucketOwner, i: number) => (o.kind === 'experiment' ? OKABE_ITO[i % OKABE_ITO.length] : o.kind === 'holdback' ? 'url(#hatch)' : '#ffffff');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => Math.round(f * bucketCount));
  let colour = 0;
  const svg = html`<svg class="bucket-map" viewBox="0 0 ${W} ${height}" width="100%" role="img" aria-labelledby="bucket-map-cap" data-bucket-count="${bucketCount}">
<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#dddddd"></rect><line x1="0" y1="0" x2="0" y2="6" stroke="#000000" stroke-width="2"></line></pattern></defs>
${ticks.map((t) => html`<g><line x1="${x(t)}" x2="${x(t)}" y1="${AXIS - 6}" y2="${height}" stroke="#bbbbbb"></line><text x="${x(t)}" y="${AXIS - 10}" text-anchor="${t === 0 ? 'start' : t === bucketCount ? 'end' : 'middle'}" font-size="11">${t}</text></g>`)}
${lanes.map((o, lane) => {
  const y = AXIS + lane * LANE;
  const c = fill(o, o.kind === 'experiment' ? colour++ : 0);
  return html`<g data-lane="${o.id}">
<text x="${LABEL - 8}" y="${y + LANE / 2 + 4}" text-anchor="end" font-size="12">${o.label.length > 28 ? `${o.label.slice(0, 27)}…` : o.label}</text>
<rect x="${LABEL}" y="${y + 4}" width="${W - LABEL - 10}" height="${LANE - 8}" fill="none" stroke="#dddddd"></rect>
${o.ranges.map(
  ([a, b]) =>
    html`<rect data-owner="${o.id}" data-kind="${o.kind}" data-start="${a}" data-end="${b}" x="${x(a)}" y="${y + 4}" width="${Math.max(1, x(b) - x(a))}" height="${LANE - 8}" fill="${c}" stroke="#333333" stroke-width="0.5"><title>${o.label}: buckets [${a}, ${b})</title></rect>`,
)}
</g>`;
})}
</svg>`;
  return html`<figure class="bucket-figure">
<figcaption id="bucket-map-cap">Bucket map: which experiments and holdbacks own which of the ${bucketCount} buckets [0, ${bucketCount}); Free is what neither owns. The table below lists the same ranges.</figcaption>
${svg}
<table class="bucket-table">
<caption>Bucket ranges by owner</caption>
<thead><tr><th scope="col">Owner</th><th scope="col">Kind</th><th scope="col">Ranges [start, end)</th><th scope="col">Buckets</th><th scope="col">Share</th></tr></thead>
<tbody>${lanes.map(
    (o) =>
      html`<tr data-owner-row="${o.id}"><th scope="row">${o.href ? html`<a href="${o.href}">${o.label}</a>` : o.label}</th><td>${o.kind}</td><td>${o.ranges.length ? o.ranges.map(([a, b]) => `[${a}, ${b})`).join(', ') : 'none'}</td><td>${rangesSize(o.ranges)}</td><td>${Math.round((10000 * rangesSize(o.ranges)) / bucketCount) / 100}%</td></tr>`,
  )}</tbody>
</table>
</figure>`;
}
