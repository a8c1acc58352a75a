import { freeRanges, rangesSize } from './assignment.js';
import { compileLayout, describeLayout, renderLayout, type Layout } from './layout.js';
import { schedulerReach, type SurfacePolicy } from './policy.js';
import type { ChangeHint, PlanRequest } from './plan-hints.js';
import { conflicts, holdbackRanges } from './rules/index.js';
import {
  ExperimentConfigSchema,
  stripControl,
  type ContentItem,
  type Experiment,
  type ExperimentConfig,
  type ExperimentConfigInput,
  type LayoutChange,
  type Metric,
  type Surface,
} from './schemas.js';
import { sizeExperiment, type SampleSizing } from './sizing.js';

export type { PlanRequest } from './plan-hints.js';

export interface PlanContext {
  surface: Surface;
  metrics: Metric[];
  content: ContentItem[];
  /** The surface's current default layout: what control shows and what the change compiles against. */
  baseLayout: Layout;
  /** Running or paused experiments on the surface. */
  active: Experiment[];
  policy: SurfacePolicy;
  existingKeys: Set<string>;
}

/** Where the change hint came from: the caller, or the client's model through sampling. */
export type HintSource = 'caller' | 'client_model';

export interface Plan {
  config: ExperimentConfig;
  /** Why each choice was made, one line each. */
  rationale: string[];
  /** What each variant renders: slot → content (null: empty). */
  layouts: Record<string, Layout>;
  hints: ChangeHint & { from: HintSource };
  sample: { requiredPerArm: number; requiredTotal: number; stages: { percent: number; unitsPerDay: number; days: number | null }[]; totalDays: number | null };
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');

/**
 * Pure generator: a complete draft from structured hints, with safe defaults and the reason for each
 * choice. The goal text is only the hypothesis; nothing is matched from its words.
 */
export function planExperimentConfig(req: PlanRequest, hint: ChangeHint & { from: HintSource }, changes: LayoutChange[], note: string, ctx: PlanContext): Plan {
  const goal = stripControl(req.goal).slice(0, 500);
  const s = ctx.surface;
  const rationale: string[] = [];
  const compiled = compileLayout(changes, s, ctx.baseLayout, new Map(ctx.content.map((c) => [c.id, c])));
  rationale.push(
    `treatment: ${hint.operation} on ${hint.slots.join(', ')} (${note}), from the ${hint.from === 'client_model' ? "client's model (sampling), judged by validation like any input" : 'hints given'}; compiled to ${compiled.overrides.length} slot override(s) against the current layout`,
  );
  rationale.push(`control: the current layout (${describeLayout(s, ctx.baseLayout)}); treatment: ${describeLayout(s, compiled.rendered)}`);
  const metric = pickMetric(req, ctx, rationale);
  const mde = clamp(req.mde ?? 0.02, ctx.policy.mdeRange.min, ctx.policy.mdeRange.max);
  const draft: ExperimentConfigInput = {
    key: uniqueKey(req.key ?? `${s.id}-${hint.operation}-${slug(hint.slots.join('-'))}`.slice(0, 56), ctx.existingKeys),
    name: goal.slice(0, 120) || `${hint.operation} on ${s.name}`,
    hypothesis: `${hint.operation} ${hint.slots.join(', ')} on ${s.name} will ${metric.direction} ${metric.name}. Goal: ${goal}`.slice(0, 2000),
    owner: stripControl(req.owner ?? '').slice(0, 120) || 'unassigned',
    surfaceId: s.id,
    variants: [
      { key: 'control', isControl: true, weight: 50, overrides: [] },
      { key: 'treatment', isControl: false, weight: 50, layout: changes, overrides: compiled.overrides },
    ],
    successMetrics: [metric.id],
    guardrails: requiredGuardrails(ctx.policy),
    analysisPlan: { alpha: 0.05, power: 0.8, mde, durationDays: req.durationDays ?? weeks(ctx.policy.minDurationDays), sequential: true },
  };
  const sized = allocate(req, draft, ctx, rationale);
  const config = withExtraGuardrails(sized.config, metric, ctx, rationale);
  const sizing = sizeOf(config, ctx);
  rationale.push(
    `sample: ${sizing.requiredTotal} units in total (${sizing.requiredPerArm} per arm, binding metric ${sizing.bindingMetricId ?? 'none'}); ramp ${sizing.stages.map((x) => `${x.percent}% for ${x.days ?? '∞'} day(s) (${x.unitsPerDay}/day)`).join(' → ')}; total ${sizing.totalDays ?? '∞'} days, planned as ${config.analysisPlan.durationDays} (whole weeks, policy ${ctx.policy.minDurationDays}–${ctx.policy.maxDurationDays})${(sizing.totalDays ?? Infinity) > config.analysisPlan.durationDays ? ' — still underpowered: accept a larger mde, a longer duration or more traffic' : ''}`,
  );
  return {
    config,
    rationale,
    layouts: { control: ctx.baseLayout, treatment: renderLayout(ctx.baseLayout, compiled.overrides) },
    hints: hint,
    sample: {
      requiredPerArm: sizing.requiredPerArm,
      requiredTotal: sizing.requiredTotal,
      stages: sizing.stages.map(({ percent, unitsPerDay, days }) => ({ percent, unitsPerDay, days })),
      totalDays: sizing.totalDays,
    },
  };
}

/** The asked-for metric, else a simple explainable default: the non-guardrail binary metric cheapest to power (lowest variance relative to its mean). */
function pickMetric(req: PlanRequest, ctx: PlanContext, rationale: string[]): Metric {
  const hinted = req.metricId ? ctx.metrics.find((m) => m.id === req.metricId) : undefined;
  if (hinted) {
    rationale.push(`success metric: ${hinted.id} (asked for)`);
    return hinted;
  }
  const pool = ctx.metrics.filter((m) => !m.isGuardrail);
  const binary = pool.filter((m) => m.kind === 'binary' && m.baselineMean !== 0);
  const cost = (m: Metric) => m.baselineVariance / (m.baselineMean * m.baselineMean);
  const best = [...binary].sort((a, b) => cost(a) - cost(b))[0] ?? pool[0] ?? ctx.metrics[0];
  rationale.push(
    `success metric: ${best.id}${req.metricId ? ` ('${req.metricId}' is not in the catalog)` : ''}, the default: the non-guardrail binary metric that needs the fewest units for a relative MDE (lowest variance/mean²); pass metricId to choose another`,
  );
  return best;
}

const requiredGuardrails = (p: SurfacePolicy) =>
  p.requiredGuardrails.map((r) => ({
    metricId: r.metricId,
    margin: r.maxMargin,
    ...('marginType' in r && r.marginType ? { marginType: r.marginType } : {}),
    ...('test' in r && r.test ? { test: r.test } : {}),
  }));

const sizeOf = (c: ExperimentConfig, ctx: PlanContext): SampleSizing =>
  sizeExperiment(c, { surface: ctx.surface, metrics: new Map(ctx.metrics.map((m) => [m.id, m])), policy: ctx.policy });

/** Start at the first-stage cap (or the target), then double up to the target. */
export function rampStages(start: number, target: number): number[] {
  const stages: number[] = [];
  for (let x = start * 2; x < target; x *= 2) stages.push(x);
  if (target > start) stages.push(target);
  return stages;
}

/** The smallest target allocation whose ramp reaches the sample within the duration; the duration grows (whole weeks) only when none does. */
function allocate(req: PlanRequest, draft: ExperimentConfigInput, ctx: PlanContext, rationale: string[]): { config: ExperimentConfig } {
  const p = ctx.policy;
  const s = ctx.surface;
  const probe = ExperimentConfigSchema.parse(draft);
  const taken = [...ctx.active.filter((e) => conflicts(e, probe)).flatMap((e) => e.buckets), ...holdbackRanges(ctx)];
  const freePct = Math.floor((1000 * rangesSize(freeRanges(s.bucketCount, taken))) / s.bucketCount) / 10;
  const ceiling = Math.min(p.maxAllocationPercent, freePct);
  const all = [...new Set([p.firstStageCapPercent, 10, 20, 25, 30, 40, 50, p.maxAllocationPercent])].filter((x) => x <= ceiling).sort((a, b) => a - b);
  // The ramp scheduler advances stages by itself only up to what the policy's allocation approvals allow its actor.
  const reach = schedulerReach(p, all) ?? Math.min(...all, p.firstStageCapPercent);
  const candidates = all.filter((x) => x <= reach);
  if (!candidates.length) candidates.push(Math.max(Math.min(ceiling, reach), 0.1));
  const limit = probe.analysisPlan.durationDays;
  // One day of headroom on plans of a week or more: traffic that falls a little short of the estimate still reaches the sample in time.
  const fits = (days: number | null) => days !== null && days <= (limit >= 7 ? limit - 1 : limit);
  const build = (target: number) => {
    const start = Math.min(p.firstStageCapPercent, target);
    return ExperimentConfigSchema.parse({ ...draft, allocationPercent: start, rampPlan: { stages: rampStages(start, target) } });
  };
  let chosen = build(candidates[candidates.length - 1]);
  for (const target of candidates) {
    const c = build(target);
    if (fits(sizeOf(c, ctx).totalDays)) {
      chosen = c;
      break;
    }
  }
  const total = sizeOf(chosen, ctx).totalDays;
  if (req.durationDays === undefined && !fits(total))
    chosen = {
      ...chosen,
      analysisPlan: { ...chosen.analysisPlan, durationDays: clamp(weeks((total ?? p.maxDurationDays) + 1), p.minDurationDays, p.maxDurationDays) },
    };
  const target = Math.max(chosen.allocationPercent, ...chosen.rampPlan.stages);
  rationale.push(
    `ramp: start at ${chosen.allocationPercent}% (policy first-stage cap ${p.firstStageCapPercent}%), then ${chosen.rampPlan.stages.length ? chosen.rampPlan.stages.map((x) => `${x}%`).join(' → ') : 'stay there (the start is already the target)'}; target ${target}%, the smallest of ${candidates.join('/')}% (≤ policy max ${p.maxAllocationPercent}%, ${freePct}% free, ≤ ${reach}% the ramp scheduler may reach without an approved actor) that reaches the sample a day before the planned ${limit} days end`,
  );
  return { config: chosen };
}

/** The policy's required guardrails, plus catalog guardrails whose need still fits the plan's duration. */
function withExtraGuardrails(config: ExperimentConfig, metric: Metric, ctx: PlanContext, rationale: string[]): ExperimentConfig {
  const want = Math.max(ctx.policy.minGuardrails, 2);
  let out = config;
  const left: string[] = [];
  for (const m of ctx.metrics) {
    if (out.guardrails.length >= want) break;
    if (!m.isGuardrail || m.id === metric.id || out.guardrails.some((g) => g.metricId === m.id)) continue;
    const next = ExperimentConfigSchema.parse({ ...out, guardrails: [...out.guardrails, { metricId: m.id, margin: 0.02 }] });
    const sz = sizeOf(next, ctx);
    const need = sz.needs.find((n) => n.metricId === m.id && n.role === 'guardrail');
    const fits =
      sz.totalDays !== null && sz.totalDays <= out.analysisPlan.durationDays && (!need || need.requiredPerArm !== null || need.test === 'no_deterioration');
    if (fits) out = next;
    else left.push(`${m.id} (${need?.requiredPerArm ? `${need.requiredPerArm}/arm` : 'cannot be sized'})`);
  }
  const req = ctx.policy.requiredGuardrails.map((r) => r.metricId);
  rationale.push(
    `guardrails: ${out.guardrails.map((g) => `${g.metricId} (${g.test ?? 'non_inferiority'}, margin ${g.margin}${g.marginType === 'absolute' ? ' absolute' : ''})`).join(', ')}; required by the policy: ${req.join(', ') || 'none by name'}, at least ${ctx.policy.minGuardrails}${left.length ? `; left out because their need does not fit ${out.analysisPlan.durationDays} days: ${left.join(', ')}` : ''}`,
  );
  return out;
}

function uniqueKey(base: string, taken: Set<string>): string {
  const clean = slug(base).slice(0, 60) || 'experiment';
  if (!taken.has(clean)) return clean;
  for (let n = 2; ; n++) if (!taken.has(`${clean}-${n}`)) return `${clean}-${n}`;
}

const weeks = (days: number) => Math.max(7, Math.ceil(days / 7) * 7);
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
