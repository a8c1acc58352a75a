import * as Plot from '@observablehq/plot';
import { el, fmt, type HistoryJson, hiddenTable, PALETTE, type RampJson } from './results-types.js';
import { stamp } from './plot-data.js';

interface Stage {
  stage: number;
  /** null: the start allocation of a ramp already past it (get_ramp_status lists only the later ones). */
  percent: number | null;
  state: 'done' | 'current' | 'planned';
}

/** Stage 1 is the start allocation; plannedStages are the later ones, those at or below the allocation already reached. */
export function rampStages(r: RampJson): Stage[] {
  const reached = r.plannedStages.filter((x) => x <= r.allocationPercent);
  const later = r.plannedStages.filter((x) => x > r.allocationPercent);
  return Array.from({ length: r.stageCount }, (_, i): Stage => {
    const s = i + 1;
    if (s === r.stage) return { stage: s, percent: r.allocationPercent, state: 'current' };
    if (s < r.stage) return { stage: s, percent: s === 1 ? null : (reached[s - 2] ?? null), state: 'done' };
    return { stage: s, percent: later[s - r.stage - 1] ?? null, state: 'planned' };
  });
}

const label = (s: Stage) => (s.percent === null ? 'start' : `${s.percent}%`);

type RampEvent = HistoryJson['ramp'][number];

/** Marks by kind: a shape as well as a colour, so no event is told by colour alone. */
const EVENT_STYLE: Record<RampEvent['kind'], { fill: string; symbol: string }> = {
  started: { fill: PALETTE.band, symbol: 'circle' },
  advanced: { fill: PALETTE.better, symbol: 'triangle' },
  resumed: { fill: PALETTE.better, symbol: 'circle' },
  released: { fill: PALETTE.better, symbol: 'square' },
  paused: { fill: PALETTE.margin, symbol: 'diamond' },
  held: { fill: PALETTE.margin, symbol: 'square' },
  breaker: { fill: PALETTE.worse, symbol: 'cross' },
  concluded: { fill: PALETTE.muted, symbol: 'star' },
};

/**
 * The ramp over time (history from the audit trail): the allocation as a step line, every event a mark
 * at its time, and the same events as an ordered list (the text alternative, and the DOM contract:
 * `data-ramp-event data-at data-percent` on each item).
 */
function rampHistory(doc: Document, events: readonly RampEvent[], width: number): HTMLElement {
  const box = el(doc, 'div', { class: 'sl-ramp-history' });
  let percent: number | null = null;
  const points = events.map((e) => {
    if (e.percent !== null) percent = e.percent;
    return { ...e, date: new Date(e.at), y: e.kind === 'concluded' ? 0 : (percent ?? 0) };
  });
  box.append(
    Plot.plot({
      document: doc,
      width,
      height: 160,
      x: { type: 'utc', label: 'time →' },
      y: { label: '↑ allocation %', domain: [0, Math.max(10, ...points.map((p) => p.y))], grid: true },
      symbol: { domain: Object.keys(EVENT_STYLE), range: Object.values(EVENT_STYLE).map((s) => s.symbol), legend: true },
      ariaLabel: 'Ramp history',
      ariaDescription: points.map((p) => `${p.at}: ${p.kind}${p.percent !== null ? ` at ${p.percent}%` : ''}`).join('; '),
      marks: [
        Plot.line(points, { x: 'date', y: 'y', curve: 'step-after', stroke: PALETTE.muted }),
        Plot.dot(points, {
          x: 'date',
          y: 'y',
          r: 6,
          symbol: 'kind',
          fill: (p: RampEvent) => EVENT_STYLE[p.kind].fill,
          stroke: '#000',
          title: (p: RampEvent) => `${p.at}: ${p.kind} by ${p.actor}${p.detail ? ` — ${p.detail}` : ''}`,
        }),
      ],
    }),
  );
  const list = el(doc, 'ol', { class: 'sl-ramp-events', 'aria-label': 'Ramp events, oldest first' });
  for (const e of events)
    list.append(
      el(
        doc,
        'li',
        { 'data-ramp-event': e.kind, 'data-at': e.at, 'data-percent': e.percent === null ? '' : String(e.percent) },
        el(doc, 'strong', {}, e.kind),
        ` ${e.at}${e.percent !== null ? ` at ${e.percent}%` : ''} by ${e.actor}${e.detail ? ` — ${e.detail}` : ''}`,
      ),
    );
  box.append(list);
  return box;
}

/** The ramp plan as stages (done, current with its time against minHours, planned), with any hold and the breaker, then its history. */
export function rampFigure(doc: Document, r: RampJson, width: number, history: readonly RampEvent[] = []): HTMLElement {
  const stages = rampStages(r);
  const fig = el(doc, 'figure', { class: 'sl-ramp', 'data-ramp-stage': String(r.stage) });
  fig.append(
    el(
      doc,
      'figcaption',
      {},
      el(doc, 'strong', {}, 'Ramp'),
      ` — stage ${r.stage} of ${r.stageCount} at ${r.allocationPercent}%`,
      r.hoursInStage !== null ? `, ${fmt(r.hoursInStage)} h in stage (min ${fmt(r.minHours)} h)` : '',
      `; next: ${r.nextAction} — ${r.reason}`,
    ),
  );
  const events = [
    r.hold ? el(doc, 'span', { class: 'sl-badge sl-warn', 'data-hold': 'true' }, `Held by ${r.hold.actor} at ${r.hold.at}: ${r.hold.reason}`) : null,
    r.breaker.tripped ? el(doc, 'span', { class: 'sl-badge sl-warn', 'data-breaker': 'tripped' }, `Breaker tripped: ${r.breaker.reasons.join('; ')}`) : null,
    r.lastTick ? el(doc, 'span', { class: 'sl-badge sl-muted' }, `Last tick ${r.lastTick.at}: ${r.lastTick.action} — ${r.lastTick.reason}`) : null,
    el(doc, 'span', { class: `sl-badge${r.gate.holds ? '' : ' sl-muted'}` }, r.gate.holds ? 'Gate holds' : 'Gate does not hold yet'),
  ].filter((x): x is HTMLSpanElement => x !== null);
  fig.append(el(doc, 'p', { class: 'sl-marks' }, ...events));
  const fill = (s: Stage) => (s.state === 'done' ? PALETTE.better : s.state === 'current' ? PALETTE.current : PALETTE.muted);
  fig.append(
    Plot.plot({
      document: doc,
      width,
      height: 120,
      x: { label: 'stage', type: 'band', domain: stages.map((s) => String(s.stage)) },
      y: { axis: null, domain: [0, 100] },
      ariaLabel: 'Ramp stages',
      ariaDescription: stages.map((s) => `stage ${s.stage}: ${label(s)} (${s.state})`).join('; '),
      marks: [
        Plot.barY(stages, {
          x: (s: Stage) => String(s.stage),
          y: (s: Stage) => s.percent ?? 0,
          fill,
          fillOpacity: (s: Stage) => (s.state === 'planned' ? 0.35 : 0.85),
          title: (s: Stage) => `stage ${s.stage}: ${label(s)} (${s.state})`,
          render: stamp(stages, (s) => ({ stage: String(s.stage), percent: String(s.percent ?? ''), state: s.state })),
        }),
        Plot.text(stages, { x: (s: Stage) => String(s.stage), y: (s: Stage) => s.percent ?? 0, text: label, dy: -8 }),
      ],
    }),
  );
  fig.append(
    hiddenTable(
      doc,
      'Ramp stages',
      ['stage', 'allocation', 'state'],
      stages.map((s) => [String(s.stage), label(s), s.state]),
    ),
  );
  if (history.length) fig.append(rampHistory(doc, history, width));
  return fig;
}
