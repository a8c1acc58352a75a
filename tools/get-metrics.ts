import { z } from 'zod';
import { defineTool } from '../src/mcp/define-tool.js';

const IntervalSchema = z.object({ estimate: z.number(), lower: z.number(), upper: z.number() });

export const getMetrics = defineTool({
  name: 'get_metrics',
  title: 'Get experiment results',
  description: [
    'Analyses an experiment\'s exposures and metric events: per metric (success metrics, then guardrails) and variant, the exposed units, the mean, the absolute and relative difference to control with a 95% (1 − alpha) interval, the Welch p-value, and whether it is significant and in the desirable direction.',
    'Also a sample-ratio-mismatch (SRM) check of exposures against the configured weights: if srm.mismatch is true, do not trust any effect; investigate assignment and logging first.',
    'Read-only and cheap; works for running, paused and concluded experiments. The current method is fixed-horizon: repeated peeking inflates false positives, so judge at the planned duration (analysisPlan.durationDays).',
    'Next: stop_experiment if a guardrail is significantly worse.',
  ].join('\n'),
  inputSchema: z.object({ experimentId: z.string().describe('Experiment id or key, e.g. "home-focus-shelf"') }),
  outputSchema: z.object({
    experimentId: z.string(),
    key: z.string(),
    status: z.string(),
    version: z.number().int(),
    method: z.string(),
    alpha: z.number(),
    computedAt: z.string(),
    lastExposureAt: z.string().nullable().describe('Time of the latest first exposure: data freshness'),
    exposures: z.array(z.object({ variant: z.string(), weight: z.number(), units: z.number().int() })),
    srm: z.object({ checked: z.boolean(), pValue: z.number().nullable(), chiSquare: z.number().nullable(), mismatch: z.boolean(), note: z.string() }),
    metrics: z.array(
      z.object({
        metricId: z.string(),
        name: z.string(),
        role: z.enum(['success', 'guardrail']),
        kind: z.enum(['binary', 'mean', 'count', 'ratio']),
        direction: z.enum(['increase', 'decrease']),
        variants: z.array(
          z.object({
            variant: z.string(),
            isControl: z.boolean(),
            units: z.number().int(),
            mean: z.number().nullable(),
            absolute: IntervalSchema.nullable().describe('treatment − control'),
            relative: IntervalSchema.nullable().describe('(treatment − control) / control, delta-method interval'),
            pValue: z.number().nullable(),
            significant: z.boolean(),
            assessment: z.enum(['better', 'worse', 'no_detectable_change', 'not_computable', 'control']),
            note: z.string().nullable(),
          }),
        ),
      }),
    ),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async ({ experimentId }, ctx) => {
    await ctx.progress(0, 1, 'aggregating');
    const r = ctx.app.metrics.report(experimentId);
    await ctx.progress(1, 1, 'done');
    const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
    const lines = r.metrics.flatMap((m) =>
      m.variants
        .filter((v) => !v.isControl)
        .map((v) => `- ${m.metricId} (${m.role}) ${v.variant}: ${v.relative ? `${pct(v.relative.estimate)} [${pct(v.relative.lower)}, ${pct(v.relative.upper)}]` : 'n/a'} p=${v.pValue?.toPrecision(3) ?? 'n/a'} → ${v.assessment}`),
    );
    return {
      structured: r,
      text: [`'${r.key}' (${r.status}): ${r.exposures.map((e) => `${e.variant}=${e.units}`).join(', ')} units. SRM: ${r.srm.note}.`, ...lines].join('\n'),
    };
  },
});
