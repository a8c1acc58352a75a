import * as Plot from '@observablehq/plot';
import { el, fmt, hiddenTable, PALETTE, type RampJson } from './results-types.js';
import { stamp } from './plot-data.js';

interface Stage {
  stage: number;
  percent: number;
  state: 'done' | 'current' | 'planned';
}

/** The ramp plan as stages (done, current with its time against minHours, planned), with any hold and the breaker. */
export function rampFigure(doc: Document, r: RampJson, width: number): HTMLElement {
  const stages: Stage[] = r.plannedStages.map((percent, i) => ({
    stage: i + 1,
    percent,
    state: i + 1 < r.stage ? 'done' : i + 1 === r.stage ? 'current' : 'planned',
  }));
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
      height: 90,
      x: { label: 'stage', type: 'band', domain: stages.map((s) => String(s.stage)) },
      y: { axis: null, domain: [0, 100] },
      ariaLabel: 'Ramp stages',
      ariaDescription: stages.map((s) => `stage ${s.stage}: ${s.percent}% (${s.state})`).join('; '),
      marks: [
        Plot.barY(stages, {
          x: (s: Stage) => String(s.stage),
          y: 'percent',
          fill,
          fillOpacity: (s: Stage) => (s.state === 'planned' ? 0.35 : 0.85),
          title: (s: Stage) => `stage ${s.stage}: ${s.percent}% (${s.state})`,
          render: stamp(stages, (s) => ({ stage: String(s.stage), percent: String(s.percent), state: s.state })),
        }),
        Plot.text(stages, { x: (s: Stage) => String(s.stage), y: 'percent', text: (s: Stage) => `${s.percent}%`, dy: -8 }),
      ],
    }),
  );
  fig.append(
    hiddenTable(
      doc,
      'Ramp stages',
      ['stage', 'allocation', 'state'],
      stages.map((s) => [String(s.stage), `${s.percent}%`, s.state]),
    ),
  );
  return fig;
}
