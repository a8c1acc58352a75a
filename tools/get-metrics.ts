import { z } from 'zod';
import { defineTool } from '../src/mcp/define-tool.js';
import { MetricKind } from '../src/domain/schemas.js';
import { listedAs } from '../src/mcp/listed-schema.js';
import { HISTORY_META_KEY } from '../src/app/results/metrics-history.js';
import { RESULTS_APP_URI } from '../resources/results-app.js';

const IntervalSchema = z.object({ estimate: z.number(), lower: z.number(), upper: z.number() });
const PendingSchema = listedAs(
  z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('sample'),
      have: z.number().int(),
      need: z.number().int(),
      expectedAt: z.string().nullable().describe('At the observed daily rate'),
    }),
    z.object({ kind: z.literal('duration'), haveDays: z.number().int(), needDays: z.number().int(), metAt: z.string().nullable() }),
  ]),
  { type: 'object', description: '{kind:"sample", have, need, expectedAt} or {kind:"duration", haveDays, needDays, metAt}' },
);
const BayesianSchema = listedAs(
  z.discriminatedUnion('ok', [
    z.object({
      ok: z.literal(true),
      scale: z.literal('absolute'),
      chanceToBeatControl: z.number(),
      expectedLoss: z.number().describe('E[max(0, −δ)]: average loss of shipping if treatment is in fact worse (metric units)'),
      expectedLossOfControl: z.number().describe('E[max(0, δ)]: average loss of keeping control if treatment is in fact better'),
      posteriorMean: z.number(),
      posteriorSd: z.number(),
      credibleInterval: z.object({ lower: z.number(), upper: z.number() }).describe('Equal-tailed, at 1 − alpha'),
      prior: z.object({ mean: z.number(), variance: z.number() }).nullable().describe('analysisPlan.prior in metric units; null: flat'),
    }),
    z.object({ ok: z.literal(false), reason: z.string().describe('"no data" when an arm has no units yet') }),
  ]),
  {
    type: 'object',
    description:
      'ok true: chanceToBeatControl, expectedLoss (of shipping), expectedLossOfControl, posteriorMean, posteriorSd, credibleInterval {lower, upper}, prior; ok false: reason',
  },
);
const BlindSchema = z.object({ metricId: z.string(), role: z.enum(['success', 'guardrail']), variant: z.string() });
const DecisionSchema = z.object({
  decision: z.enum(['ship', 'keep_running', 'roll_back', 'inconclusive']),
  reasons: z.array(z.string()).describe('Every reason, with the numbers behind it'),
  blockers: z.array(z.string()).describe('What stands between this variant and "ship"'),
  pending: z.array(PendingSchema).describe('Planned sample / whole days not met yet, and when they will be'),
});
const DecisionRecordSchema = DecisionSchema.extend({
  variant: z.string().nullable(),
  rule: z.object({ name: z.string(), source: z.string() }),
  method: z.enum(['always-valid', 'fixed-horizon', 'group-sequential']),
  alpha: z.number(),
  correction: z.string(),
  power: z.number(),
  guardrailPower: z.number().nullable().describe('Power each non-inferiority guardrail was sized for: 1 − β/(G+1)'),
  successAlpha: z
    .array(z.object({ metricId: z.string(), alpha: z.number().nullable() }))
    .describe('Corrected α each success metric of the decision variant was judged at (correction across success metrics only)'),
  guardrailAlpha: z.number().nullable().describe('One-sided α of the non-inferiority guardrail tests: the plan α, not corrected'),
  plannedTotal: z.number().int(),
  observedTotal: z.number().int(),
  requiredDays: z.number().int(),
  daysRunning: z.number().nullable(),
});

/** What agents read of a metric's result; the rest (adjusted intervals, Bayesian and mSPRT views) is named in the description. */
const METRIC_LISTING = {
  type: 'object',
  description:
    'metricId, role, kind, direction, margin, marginType, test; variants [{variant, isControl, units, mean, absolute and relative {estimate, lower, upper}, pValue, pValueAdjusted, adjustedInterval, significant, blind, assessment (better|worse|no_detectable_change|not_computable|control), varianceReduction, nonInferiority {nonInferior, bound, threshold}, bayesian, msprt, note}]',
  properties: { metricId: { type: 'string' }, role: { type: 'string' }, variants: { type: 'array', items: { type: 'object' } } },
};

export const getMetrics = defineTool({
  name: 'get_metrics',
  title: 'Get experiment results and decision',
  description: [
    'Analyses an experiment from its per-arm sufficient statistics and recommends a decision.',
    'Per metric and variant: units, mean, absolute and relative difference to control with an interval, p-value, significance after multiple-testing correction, CUPED variance reduction, guardrail non-inferiority, optionally the Bayesian view.',
    'The default method (always-valid) is safe to call as often as you like; a fixed-horizon plan is only valid at the planned sample (sample.fractionOfPlan ≥ 1).',
    'decision follows a risk-aware rule: ship only if a success metric is significantly better, every guardrail holds, nothing deteriorates, no metric is blind (no data in an arm), the sample-ratio check passes and the planned sample and days are met; a guardrail significantly worse means roll_back. pending says what the plan still waits for and when.',
    'If srm.mismatch is true, trust nothing: investigate assignment/logging. Next: stop_experiment (outcome rolled_back) when the decision is roll_back.',
  ].join('\n'),
  inputSchema: z.object({ experimentId: z.string().describe('Experiment id or key, e.g. "home-focus-shelf"') }),
  outputSchema: z.object({
    experimentId: z.string(),
    key: z.string(),
    status: z.string(),
    version: z.number().int(),
    method: z.enum(['always-valid', 'fixed-horizon', 'group-sequential']),
    methodNote: z.string(),
    sequential: listedAs(z.object({ method: z.enum(['confidence_sequence', 'msprt']), tuningTotal: z.number().int(), tuningFromPlan: z.boolean() }), {
      type: 'object',
      description: 'method, tuningTotal, tuningFromPlan',
    })
      .nullable()
      .describe('Always-valid plans: the sequential test and its tuning'),
    alpha: z.number(),
    correction: z.string().describe('Multiple-testing correction across success metrics'),
    computedAt: z.string(),
    dataUpdatedAt: z.string().nullable().describe('Data freshness'),
    fold: z.object({ pending: z.number().int(), lagSeconds: z.number() }).describe('Events not yet in these numbers'),
    sample: z.object({
      plannedTotal: z.number().int().describe("The plan's sample (largest need over success metrics and non-inferiority guardrails)"),
      observedTotal: z.number().int(),
      fractionOfPlan: z.number(),
      daysRunning: z.number().nullable(),
      requiredDays: z.number().int().describe('Whole days the plan needs before ship: durationDays, in whole weeks from 7 up'),
      bindingMetricId: z.string().nullable(),
    }),
    blind: z.array(BlindSchema).describe('Metrics with no data in an arm: they block ship'),
    pending: z.array(PendingSchema),
    exposures: z.array(z.object({ variant: z.string(), weight: z.number(), units: z.number().int() })),
    srm: z.object({ checked: z.boolean(), pValue: z.number().nullable(), chiSquare: z.number().nullable(), mismatch: z.boolean(), note: z.string() }),
    metrics: z.array(
      listedAs(
        z.object({
          metricId: z.string(),
          name: z.string(),
          role: z.enum(['success', 'guardrail']),
          kind: MetricKind,
          quantile: z.number().optional().describe('Quantile metrics: the level, e.g. 0.9 (P90 of unit values); effects are differences in that quantile'),
          direction: z.enum(['increase', 'decrease']),
          margin: z.number().nullable().describe('Guardrails: the margin, in marginType units'),
          marginType: z.enum(['relative', 'absolute']).nullable(),
          test: z.enum(['non_inferiority', 'no_deterioration']).nullable().describe('Guardrails: how ship judges them'),
          variants: z.array(
            z.object({
              variant: z.string(),
              isControl: z.boolean(),
              units: z.number().int(),
              mean: z.number().nullable().describe("The arm's mean (a ratio metric: Σnum/Σden; a quantile metric: its quantile, e.g. P90)"),
              absolute: IntervalSchema.nullable().describe('treatment − control, with the interval of the method in force'),
              relative: IntervalSchema.nullable().describe('(treatment − control) / control'),
              pValue: z.number().nullable(),
              pValueAdjusted: z.number().nullable(),
              adjustedInterval: listedAs(z.object({ level: z.number(), absolute: IntervalSchema, relative: IntervalSchema.nullable() }), {
                type: 'object',
                description: 'level, absolute and relative intervals',
              })
                .nullable()
                .describe(
                  'Success metrics: the intervals at the level the correction judged this cell at (Bonferroni α/m, Holm step level, BH k·α/m); significant exactly when absolute excludes 0',
                ),
              significant: z.boolean(),
              blind: z.boolean().describe('Units exposed but no data for this metric in this arm yet'),
              assessment: z.enum(['better', 'worse', 'no_detectable_change', 'not_computable', 'control']),
              varianceReduction: z.number().nullable().describe('CUPED: share of variance removed by the pre-exposure covariate'),
              nonInferiority: z
                .object({
                  nonInferior: z.boolean(),
                  bound: z.number(),
                  threshold: z.number(),
                  boundMethod: listedAs(
                    z.enum([
                      'one-sided test',
                      'one-sided confidence sequence',
                      'two-sided confidence sequence',
                      'mSPRT interval',
                      'repeated confidence interval',
                    ]),
                    { type: 'string' },
                  ).describe('The bad-side bound at α, e.g. "one-sided confidence sequence"'),
                })
                .nullable(),
              bayesian: BayesianSchema.nullable().describe('analysisPlan.bayesian: posterior of the effect with analysisPlan.prior'),
              msprt: listedAs(z.object({ mixingVariance: z.number(), logEValue: z.number(), pValueAtLook: z.number() }), {
                type: 'object',
                description: 'mixingVariance, logEValue, pValueAtLook',
              })
                .nullable()
                .describe('mSPRT plans: τ² (metric units²), log e-value and p of this look; pValue is the running minimum over daily looks'),
              note: z.string().nullable(),
            }),
          ),
        }),
        METRIC_LISTING,
      ),
    ),
    decision: listedAs(DecisionRecordSchema, {
      type: 'object',
      description:
        'The recommendation for variant: decision (ship | keep_running | roll_back | inconclusive), reasons, blockers, pending; and the rule, method, alpha, correction, power and sample it rests on',
    }),
    decisionsByVariant: z.array(
      listedAs(DecisionSchema.extend({ variant: z.string() }), { type: 'object', description: 'decision, reasons, blockers, pending per treatment' }),
    ),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  ui: RESULTS_APP_URI,
  handler: async ({ experimentId }, ctx) => {
    await ctx.progress(0, 2, 'reading sufficient statistics');
    const r = await ctx.app.metrics.reportCurrent(experimentId);
    await ctx.progress(2, 2, 'analysed');
    const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
    const lines = r.metrics.flatMap((m) =>
      m.variants
        .filter((v) => !v.isControl)
        .map(
          (v) =>
            `- ${m.metricId} (${m.quantile !== undefined ? `P${+(100 * m.quantile).toFixed(2)} ${v.mean?.toPrecision(4) ?? 'n/a'} vs ${m.variants.find((c) => c.isControl)?.mean?.toPrecision(4) ?? 'n/a'}, ` : ''}${m.role}${m.test === 'no_deterioration' ? ', no deterioration' : ''}) ${v.variant}: ${v.blind ? 'BLIND (no data yet)' : v.relative ? `${pct(v.relative.estimate)} [${pct(v.relative.lower)}, ${pct(v.relative.upper)}]` : 'n/a'} p=${v.pValue?.toPrecision(3) ?? 'n/a'} → ${v.assessment}${v.nonInferiority ? (v.nonInferiority.nonInferior ? ', non-inferior' : ', NOT shown non-inferior') : ''}`,
        ),
    );
    const d = r.decision;
    return {
      structured: r,
      // A host that renders the App also gets the effect over time, out of the model's context (docs/adr/0016-results-mcp-app.md).
      ...(ctx.rendersApps ? { meta: { [HISTORY_META_KEY]: await ctx.app.metrics.historyCurrent(r.experimentId) } } : {}),
      text: [
        `'${r.key}' (${r.status}, ${r.method}): ${r.exposures.map((e) => `${e.variant}=${e.units}`).join(', ')} units, ${(100 * r.sample.fractionOfPlan).toFixed(0)}% of plan, day ${Math.floor(r.sample.daysRunning ?? 0)} of ${r.sample.requiredDays}. SRM: ${r.srm.note}.`,
        ...lines,
        `Decision: ${d.decision}${d.variant ? ` (${d.variant})` : ''}. ${d.blockers.length ? `Blockers: ${d.blockers.join('; ')}.` : ''}`,
      ].join('\n'),
    };
  },
});
