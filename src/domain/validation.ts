import { ExperimentConfigSchema, type ContentItem, type Experiment, type ExperimentConfig, type Finding, type Metric, type Surface } from './schemas.js';
import type { Policy } from './policy.js';
import { bucketsForPercent, collides, freeRanges, rangesSize } from './assignment.js';
import { requiredSampleSizePerArm } from './stats/index.js';

export interface ValidationContext {
  surface: Surface | undefined;
  content: Map<string, ContentItem>;
  metrics: Map<string, Metric>;
  /** Running or paused experiments on the surface, excluding the one being validated. */
  active: Experiment[];
  /** Buckets the experiment under validation already owns (when it is running). */
  ownedBuckets: number;
  policy: Policy;
}

export interface ValidationResult {
  valid: boolean;
  findings: Finding[];
  config?: ExperimentConfig;
  power?: { requiredPerArm: number; requiredTotal: number; expectedUnits: number; daysNeeded: number | null; metricId: string };
}

const f = (code: string, severity: Finding['severity'], path: string, message: string, fix: string): Finding => ({ code, severity, path, message, fix });

/** Pure: judges a config against the catalog, the running experiments and the policy. Findings are data. */
export function validateExperimentConfig(input: unknown, ctx: ValidationContext): ValidationResult {
  const parsed = ExperimentConfigSchema.safeParse(input);
  if (!parsed.success) {
    const findings = parsed.error.issues.map((i) =>
      f('SCHEMA', 'error', '$' + i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join(''), i.message, 'Correct this field to match the experiment schema (see the create_experiment input schema).'),
    );
    return { valid: false, findings };
  }
  const config = parsed.data;
  const findings: Finding[] = [
    ...variantRules(config, ctx),
    ...catalogRules(config, ctx),
    ...metricRules(config, ctx),
    ...allocationRules(config, ctx),
  ];
  const power = powerCheck(config, ctx);
  if (power.finding) findings.push(power.finding);
  return { valid: !findings.some((x) => x.severity === 'error'), findings, config, power: power.summary };
}

function variantRules(c: ExperimentConfig, ctx: ValidationContext): Finding[] {
  const out: Finding[] = [];
  const controls = c.variants.filter((v) => v.isControl);
  if (controls.length !== 1) {
    out.push(f('CONTROL_COUNT', 'error', '$.variants', `found ${controls.length} control variants; exactly one is required`, 'Set isControl: true on exactly one variant (usually the one with no overrides).'));
  }
  const keys = new Set<string>();
  c.variants.forEach((v, i) => {
    if (keys.has(v.key)) out.push(f('DUPLICATE_VARIANT', 'error', `$.variants[${i}].key`, `variant key '${v.key}' is used twice`, 'Give every variant a distinct key.'));
    keys.add(v.key);
  });
  if (c.variants.length > ctx.policy.maxVariants) {
    out.push(f('TOO_MANY_VARIANTS', 'error', '$.variants', `${c.variants.length} variants exceed the policy maximum of ${ctx.policy.maxVariants}`, `Keep at most ${ctx.policy.maxVariants} variants.`));
  }
  const total = c.variants.reduce((s, v) => s + v.weight, 0);
  // Weights are normalised at assignment, so rounding (33.33 × 3) is fine; a real mismatch is not.
  if (Math.abs(total - 100) > 0.011 && Math.abs(total - 1) > 1e-4) {
    out.push(f('WEIGHTS_SUM', 'error', '$.variants', `variant weights sum to ${total}; they must sum to 100 (or 1)`, `Scale the weights so they sum to 100, e.g. ${equalSplit(c.variants.length).join(' / ')}.`));
  }
  c.variants.forEach((v, i) => {
    if (!v.isControl && v.overrides.length === 0) out.push(f('EMPTY_TREATMENT', 'warning', `$.variants[${i}].overrides`, `variant '${v.key}' changes nothing on the surface`, 'Add at least one slot override, or drop the variant.'));
  });
  return out;
}

function catalogRules(c: ExperimentConfig, ctx: ValidationContext): Finding[] {
  const s = ctx.surface;
  if (!s) return [f('UNKNOWN_SURFACE', 'error', '$.surfaceId', `surface '${c.surfaceId}' does not exist`, 'Pick a surface from list_surfaces (e.g. "home").')];
  const out: Finding[] = [];
  const slots = new Map(s.slots.map((x) => [x.id, x]));
  c.variants.forEach((v, i) =>
    v.overrides.forEach((o, j) => {
      const path = `$.variants[${i}].overrides[${j}]`;
      const slot = slots.get(o.slotId);
      const item = ctx.content.get(o.contentId);
      if (!slot) out.push(f('UNKNOWN_SLOT', 'error', `${path}.slotId`, `slot '${o.slotId}' is not on surface '${s.id}'`, `Use one of: ${[...slots.keys()].join(', ')}.`));
      if (!item) out.push(f('UNKNOWN_CONTENT', 'error', `${path}.contentId`, `content item '${o.contentId}' does not exist`, 'Pick an item from the content catalog resource (sealab://content).'));
      if (slot && item && !slot.accepts.includes(item.type)) {
        out.push(f('SLOT_CONTENT_MISMATCH', 'error', `${path}.contentId`, `slot '${slot.id}' accepts ${slot.accepts.join('/')} but '${item.id}' is a ${item.type}`, `Choose a ${slot.accepts.join(' or ')} item for slot '${slot.id}', or another slot that accepts ${item.type}.`));
      }
      const platforms = c.targeting.platforms?.length ? c.targeting.platforms : s.platforms;
      const missing = item ? platforms.filter((p) => !item.platforms.includes(p)) : [];
      if (item && missing.length) out.push(f('PLATFORM_COVERAGE', 'warning', `${path}.contentId`, `'${item.id}' is not available on ${missing.join(', ')}`, `Target only ${item.platforms.join(', ')} (targeting.platforms) or pick an item available everywhere.`));
    }),
  );
  (c.targeting.platforms ?? []).forEach((p, i) => {
    if (!s.platforms.includes(p)) out.push(f('PLATFORM_NOT_ON_SURFACE', 'error', `$.targeting.platforms[${i}]`, `surface '${s.id}' is not served on ${p}`, `Use platforms from: ${s.platforms.join(', ')}.`));
  });
  return out;
}

function metricRules(c: ExperimentConfig, ctx: ValidationContext): Finding[] {
  const out: Finding[] = [];
  c.successMetrics.forEach((m, i) => {
    if (!ctx.metrics.has(m)) out.push(f('UNKNOWN_METRIC', 'error', `$.successMetrics[${i}]`, `metric '${m}' does not exist`, 'Pick metric ids from the metric catalog (sealab://metrics).'));
  });
  c.guardrails.forEach((g, i) => {
    const m = ctx.metrics.get(g.metricId);
    if (!m) out.push(f('UNKNOWN_METRIC', 'error', `$.guardrails[${i}].metricId`, `metric '${g.metricId}' does not exist`, 'Pick a guardrail metric from sealab://metrics (isGuardrail: true).'));
  });
  if (c.guardrails.length < ctx.policy.minGuardrails) {
    const suggestions = [...ctx.metrics.values()].filter((m) => m.isGuardrail).map((m) => m.id);
    out.push(f('MISSING_GUARDRAIL', 'error', '$.guardrails', `the policy requires at least ${ctx.policy.minGuardrails} guardrail metric(s); found ${c.guardrails.length}`, `Add guardrails, e.g. ${JSON.stringify(suggestions.slice(0, 2).map((id) => ({ metricId: id, margin: 0.02 })))}.`));
  }
  return out;
}

function allocationRules(c: ExperimentConfig, ctx: ValidationContext): Finding[] {
  const out: Finding[] = [];
  if (c.allocationPercent > ctx.policy.maxAllocationPercent) {
    out.push(f('ALLOCATION_ABOVE_POLICY', 'error', '$.allocationPercent', `allocation ${c.allocationPercent}% exceeds the policy maximum of ${ctx.policy.maxAllocationPercent}%`, `Set allocationPercent to at most ${ctx.policy.maxAllocationPercent}.`));
  }
  const s = ctx.surface;
  if (!s) return out;
  if (bucketsForPercent(s.bucketCount, c.allocationPercent) < 1) {
    out.push(f('ALLOCATION_TOO_SMALL', 'error', '$.allocationPercent', `${c.allocationPercent}% of ${s.bucketCount} buckets rounds to none: nobody would be in the experiment`, `Use at least ${Math.ceil((50 / s.bucketCount) * 1000) / 1000}% (one bucket).`));
  }
  const colliding = ctx.active.filter((e) => collides(e, c));
  const free = rangesSize(freeRanges(s.bucketCount, colliding.flatMap((e) => e.buckets))) ;
  const need = bucketsForPercent(s.bucketCount, c.allocationPercent);
  if (need > free + 0) {
    const freePct = (100 * free) / s.bucketCount;
    out.push(f('COLLISION', 'error', '$.allocationPercent', `needs ${need} buckets but only ${free} (${freePct.toFixed(1)}%) are free of colliding experiments on the same slots: ${colliding.map((e) => e.key).join(', ')}`, freePct > 0 ? `Lower allocationPercent to at most ${Math.floor(freePct * 10) / 10}, or use other slots.` : 'Use slots no running experiment touches, or wait until the colliding experiments conclude.'));
  }
  if (c.analysisPlan.durationDays < ctx.policy.minDurationDays || c.analysisPlan.durationDays > ctx.policy.maxDurationDays) {
    out.push(f('DURATION_OUT_OF_RANGE', 'error', '$.analysisPlan.durationDays', `duration ${c.analysisPlan.durationDays} days is outside the policy range ${ctx.policy.minDurationDays}–${ctx.policy.maxDurationDays}`, `Plan between ${ctx.policy.minDurationDays} and ${ctx.policy.maxDurationDays} days (a full week at least, to cover weekly cycles).`));
  }
  return out;
}

function powerCheck(c: ExperimentConfig, ctx: ValidationContext): { finding?: Finding; summary?: ValidationResult['power'] } {
  const metric = ctx.metrics.get(c.successMetrics[0]);
  if (!metric || !ctx.surface) return {};
  const perArm = requiredSampleSizePerArm({
    baselineMean: metric.baselineMean,
    baselineVariance: metric.baselineVariance,
    mde: c.analysisPlan.mde,
    alpha: c.analysisPlan.alpha,
    power: c.analysisPlan.power,
  });
  const weights = c.variants.map((v) => v.weight);
  const minShare = Math.min(...weights) / weights.reduce((a, b) => a + b, 0);
  const requiredTotal = Math.ceil(perArm / minShare);
  // Traffic follows the buckets actually owned, not the raw percent.
  const perDay = (ctx.surface.dailyTraffic * bucketsForPercent(ctx.surface.bucketCount, c.allocationPercent)) / ctx.surface.bucketCount;
  const expectedUnits = Math.floor(perDay * c.analysisPlan.durationDays);
  const daysNeeded = perDay > 0 ? Math.ceil(requiredTotal / perDay) : null;
  const summary = { requiredPerArm: perArm, requiredTotal, expectedUnits, daysNeeded, metricId: metric.id };
  if (expectedUnits >= requiredTotal) return { summary };
  return {
    summary,
    finding: f('UNDERPOWERED', 'warning', '$.analysisPlan', `detecting a ${(c.analysisPlan.mde * 100).toFixed(1)}% change in '${metric.id}' needs ${requiredTotal} units; ${c.analysisPlan.durationDays} days at ${c.allocationPercent}% of ${ctx.surface.dailyTraffic}/day gives ${expectedUnits}`, `Run ${daysNeeded} days, raise allocationPercent, or accept a larger mde.`),
  };
}

/** Equal weights in hundredths that sum to exactly 100, the remainder on the last. */
function equalSplit(n: number): number[] {
  const each = Math.floor(10000 / n) / 100;
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? Math.round((100 - each * (n - 1)) * 100) / 100 : each));
}
