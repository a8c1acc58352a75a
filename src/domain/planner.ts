import { bucketsForPercent, freeRanges, rangesSize } from './assignment.js';
import type { SurfacePolicy } from './policy.js';
import { conflicts, holdbackRanges } from './rules/index.js';
import {
  ExperimentConfigSchema,
  stripControl,
  type ContentItem,
  type Experiment,
  type ExperimentConfig,
  type Metric,
  type Slot,
  type Surface,
} from './schemas.js';
import { requiredSampleSizePerArm } from './stats/index.js';

/** What an agent asks the generator for: a goal in words and a surface, plus optional hints. */
export interface PlanRequest {
  goal: string;
  surfaceId: string;
  metricId?: string;
  mde?: number;
  durationDays?: number;
  slotIds?: string[];
  contentIds?: string[];
  key?: string;
  owner?: string;
}

export interface PlanContext {
  surface: Surface;
  metrics: Metric[];
  content: ContentItem[];
  /** Running or paused experiments on the surface. */
  active: Experiment[];
  policy: SurfacePolicy;
  existingKeys: Set<string>;
}

export interface Plan {
  config: ExperimentConfig;
  /** Why each choice was made, one line each. */
  rationale: string[];
  sample: { requiredPerArm: number; requiredTotal: number; unitsPerDay: number; daysNeeded: number | null };
}

const STOP = new Set(
  'a an and any at be by do for from get i in is it least make more most of on one or our per people share since so than that the their them this to units unit user users via we what when which who will with first exposed surface'.split(
    ' ',
  ),
);
/** A few everyday words for what the demo catalog measures; unknown words still match by overlap. */
const SYNONYMS: Record<string, string[]> = {
  listen: ['stream', 'play'],
  play: ['stream', 'listen'],
  stream: ['listen', 'play'],
  tap: ['click'],
  click: ['tap'],
  return: ['retention', 'active'],
  retain: ['retention'],
  like: ['save'],
  library: ['save'],
  work: ['focus'],
  study: ['focus'],
  concentrat: ['focus'],
};

/** Lowercase word stems (crude suffix stripping is enough to match "listening" with "listen"). */
export function tokens(text: string, synonyms = true): Set<string> {
  const out = new Set<string>();
  for (const raw of text.toLowerCase().split(/[^a-z0-9]+/)) {
    if (raw.length < 3 || STOP.has(raw)) continue;
    const stem = stemOf(raw);
    out.add(stem);
    if (synonyms) for (const s of SYNONYMS[stem] ?? []) out.add(stemOf(s));
  }
  return out;
}

const stemOf = (word: string) => (word.length > 4 ? word.replace(/(ing|ed|s)$/, '') : word);

const overlap = (a: Set<string>, b: Set<string>) => [...a].filter((x) => b.has(x)).length;

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');

/** Pure generator: a complete draft config with safe defaults, and the reasons for each choice. */
export function planExperimentConfig(req: PlanRequest, ctx: PlanContext): Plan {
  const goal = stripControl(req.goal).slice(0, 500);
  const words = tokens(goal);
  const rationale: string[] = [];
  const metric = pickMetric(req, ctx, words, rationale);
  const { slot, item } = pickTreatment(req, ctx, tokens(goal, false), rationale);
  rationale.push(`control: the current layout, where ${slot.id} shows '${slot.defaultContentId}' (no overrides)`);
  const guardrails = pickGuardrails(ctx, metric, rationale);
  const mde = clamp(req.mde ?? 0.02, ctx.policy.mdeRange.min, ctx.policy.mdeRange.max);
  const sizing = size(req, ctx, metric, mde, slot, rationale);
  const start = Math.min(ctx.policy.firstStageCapPercent, sizing.target);
  const stages: number[] = [];
  for (let x = start * 2; x < sizing.target; x *= 2) stages.push(x);
  if (sizing.target > start) stages.push(sizing.target);
  rationale.push(
    `ramp: start at ${start}% (policy first-stage cap ${ctx.policy.firstStageCapPercent}%), then ${stages.length ? stages.map((s) => `${s}%`).join(' → ') : 'stay there'}`,
  );
  const key = uniqueKey(req.key ?? `${ctx.surface.id}-${slug(item.id)}-${slug(metric.id)}`.slice(0, 56), ctx.existingKeys);
  const config = ExperimentConfigSchema.parse({
    key,
    name: (goal || `${item.title} in ${slot.name}`).slice(0, 120),
    hypothesis: `Showing ${item.title} in ${slot.name} on ${ctx.surface.name} will ${metric.direction} ${metric.name}. Goal: ${goal}`.slice(0, 2000),
    owner: stripControl(req.owner ?? '').slice(0, 120) || 'unassigned',
    surfaceId: ctx.surface.id,
    variants: [
      { key: 'control', isControl: true, weight: 50, overrides: [] },
      { key: 'treatment', isControl: false, weight: 50, overrides: [{ slotId: slot.id, contentId: item.id }] },
    ],
    allocationPercent: start,
    rampPlan: { stages },
    targeting: {},
    successMetrics: [metric.id],
    guardrails,
    analysisPlan: { alpha: 0.05, power: 0.8, mde, durationDays: sizing.durationDays, sequential: true },
  });
  return { config, rationale, sample: sizing.sample };
}

function pickMetric(req: PlanRequest, ctx: PlanContext, words: Set<string>, rationale: string[]): Metric {
  const hinted = req.metricId ? ctx.metrics.find((m) => m.id === req.metricId) : undefined;
  if (hinted) {
    rationale.push(`success metric: ${hinted.id} (asked for)`);
    return hinted;
  }
  const candidates = ctx.metrics.filter((m) => !m.isGuardrail);
  const pool = candidates.length ? candidates : ctx.metrics;
  const scored = pool.map((m, i) => ({ m, i, score: overlap(words, tokens(`${m.id} ${m.name} ${m.description}`)), binary: m.kind === 'binary' ? 1 : 0 }));
  // Best overlap with the goal; binary metrics need the least traffic; then catalog order.
  scored.sort((a, b) => b.score - a.score || b.binary - a.binary || a.i - b.i);
  const best = scored[0].m;
  rationale.push(
    scored[0].score > 0
      ? `success metric: ${best.id}, the catalog metric closest to the goal ("${best.name}", ${best.direction} is better)`
      : `success metric: ${best.id}, no metric matched the goal's words; the first binary one is the cheapest to power`,
  );
  return best;
}

function pickTreatment(req: PlanRequest, ctx: PlanContext, words: Set<string>, rationale: string[]): { slot: Slot; item: ContentItem } {
  const s = ctx.surface;
  const busy = (slot: Slot) => ctx.active.filter((e) => e.variants.some((v) => v.overrides.some((o) => o.slotId === slot.id))).length;
  const slots = (req.slotIds?.length ? s.slots.filter((x) => req.slotIds!.includes(x.id)) : s.slots).filter((x) => busy(x) < ctx.policy.maxConcurrentPerSlot);
  const items = (req.contentIds?.length ? ctx.content.filter((c) => req.contentIds!.includes(c.id)) : ctx.content).filter((c) =>
    s.platforms.every((p) => c.platforms.includes(p)),
  );
  const pairs = slots.flatMap((slot) =>
    items
      .filter((it) => slot.accepts.includes(it.type) && it.id !== slot.defaultContentId)
      .map((item) => ({ slot, item, score: overlap(words, tokens(`${item.id} ${item.title}`, false)), busy: busy(slot) })),
  );
  if (!pairs.length) {
    const slot = slots[0] ?? s.slots[0];
    const item = items.find((it) => slot.accepts.includes(it.type)) ?? ctx.content.find((it) => slot.accepts.includes(it.type)) ?? ctx.content[0];
    rationale.push(`treatment: '${item.id}' in ${slot.id}; no free slot/content pair fits the hints, so validation will say what to change`);
    return { slot, item };
  }
  pairs.sort((a, b) => b.score - a.score || a.busy - b.busy || a.slot.position - b.slot.position);
  const { slot, item, score } = pairs[0];
  rationale.push(
    `treatment: '${item.id}' (${item.type}, "${item.title}") in ${slot.id}, which accepts ${slot.accepts.join('/')}${score ? ', matched from the goal' : ''}; available on every platform of ${s.id}${busy(slot) ? `; ${busy(slot)} experiment(s) already on the slot` : ', no experiment on the slot'}`,
  );
  return { slot, item };
}

function pickGuardrails(ctx: PlanContext, metric: Metric, rationale: string[]): ExperimentConfig['guardrails'] {
  const out = ctx.policy.requiredGuardrails.map((r) => ({ metricId: r.metricId, margin: r.maxMargin }));
  for (const m of ctx.metrics) {
    if (out.length >= Math.max(ctx.policy.minGuardrails, 2)) break;
    if (m.isGuardrail && m.id !== metric.id && !out.some((g) => g.metricId === m.id)) out.push({ metricId: m.id, margin: 0.02 });
  }
  rationale.push(
    `guardrails: ${out.map((g) => `${g.metricId} (margin ${g.margin})`).join(', ')}; the policy requires ${ctx.policy.requiredGuardrails.map((r) => r.metricId).join(', ') || 'none by name'} and at least ${ctx.policy.minGuardrails}`,
  );
  return out;
}

/** The smallest allocation that reaches the MDE's sample within the duration, from the surface's traffic and the metric's variance. */
function size(req: PlanRequest, ctx: PlanContext, metric: Metric, mde: number, slot: Slot, rationale: string[]) {
  const s = ctx.surface;
  const p = ctx.policy;
  const perArm = requiredSampleSizePerArm({ baselineMean: metric.baselineMean, baselineVariance: metric.baselineVariance, mde, alpha: 0.05, power: 0.8 });
  const total = perArm * 2;
  const probe = { surfaceId: s.id, variants: [{ overrides: [{ slotId: slot.id, contentId: '' }] }] } as unknown as ExperimentConfig;
  const taken = [...ctx.active.filter((e) => conflicts(e, probe)).flatMap((e) => e.buckets), ...holdbackRanges(ctx)];
  const freePct = Math.floor((1000 * rangesSize(freeRanges(s.bucketCount, taken))) / s.bucketCount) / 10;
  const ceiling = Math.min(p.maxAllocationPercent, freePct);
  const candidates = [...new Set([p.firstStageCapPercent, 10, 20, 25, 30, 40, 50, p.maxAllocationPercent])].filter((x) => x <= ceiling).sort((a, b) => a - b);
  const limit = req.durationDays ?? p.maxDurationDays;
  const perDayAt = (pct: number) => (s.dailyTraffic * bucketsForPercent(s.bucketCount, pct)) / s.bucketCount;
  const daysAt = (pct: number) => (perDayAt(pct) > 0 ? Math.ceil(total / perDayAt(pct)) : Infinity);
  const target = candidates.find((c) => daysAt(c) <= limit) ?? candidates[candidates.length - 1] ?? Math.max(ceiling, 0.01);
  const days = daysAt(target);
  const durationDays = req.durationDays ?? clamp(Number.isFinite(days) ? Math.ceil(days / 7) * 7 : p.maxDurationDays, p.minDurationDays, p.maxDurationDays);
  rationale.push(
    `sample: detecting a ${(mde * 100).toFixed(1)}% change in ${metric.id} (baseline ${+metric.baselineMean.toPrecision(4)}, variance ${+metric.baselineVariance.toPrecision(4)}) needs ${total} units; at ${target}% of ${s.dailyTraffic}/day that is ${Number.isFinite(days) ? days : '∞'} days, planned as ${durationDays} (whole weeks, policy ${p.minDurationDays}–${p.maxDurationDays}; a fixed-horizon size, as validate_config's power check)${daysAt(target) > durationDays ? ' — still underpowered: accept a larger mde or more traffic' : ''}`,
  );
  return {
    target,
    durationDays,
    sample: { requiredPerArm: perArm, requiredTotal: total, unitsPerDay: Math.floor(perDayAt(target)), daysNeeded: Number.isFinite(days) ? days : null },
  };
}

function uniqueKey(base: string, taken: Set<string>): string {
  const clean = slug(base).slice(0, 60) || 'experiment';
  if (!taken.has(clean)) return clean;
  for (let n = 2; ; n++) if (!taken.has(`${clean}-${n}`)) return `${clean}-${n}`;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
