import * as Plot from '@observablehq/plot';
import { el, fmt, hiddenTable, PALETTE, type RampJson } from './results-types.js';
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

/** The ramp plan as stages (done, current with its time against minHours, planned), with any hold and the breaker. */
export function rampFigure(doc: Document, r: RampJson, width: number): HTMLElement {
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
  return fig;
}
