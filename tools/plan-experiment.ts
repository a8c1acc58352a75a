import { z } from 'zod';
import { ExperimentConfigSchema, FindingSchema, JsonPatchOperationSchema } from '../src/domain/schemas.js';
import { defineTool } from '../src/mcp/define-tool.js';
import { quoted } from '../src/mcp/data-text.js';
import { PowerSchema } from './validate-config.js';

export const planExperiment = defineTool({
  name: 'plan_experiment',
  title: 'Plan an experiment (generator)',
  description: [
    "Drafts a complete experiment config from a goal in words and a surface, with safe defaults: control = the surface's current layout, a treatment in a free slot with content it accepts, the success metric matched from the catalog, the policy's required guardrails, an MDE-driven sample size and duration from the surface's traffic and the metric's baseline variance, and a ramp plan within the policy caps.",
    'Returns the config, why each choice was made (rationale), and its validation. Stores nothing: review or adjust the config, then create_experiment with it.',
    'Optional hints steer it: metricId, mde, durationDays, slotIds, contentIds, key, owner. Call list_surfaces first to pick the surface; sealab://metrics and sealab://content list what can be hinted.',
  ].join('\n'),
  inputSchema: z.object({
    goal: z.string().min(3).max(500).describe('What to learn or improve, in words, e.g. "more people start listening from Home with a focus shelf"'),
    surfaceId: z.string().describe('Surface id, e.g. "home"'),
    metricId: z.string().optional().describe('Success metric to use instead of the matched one, e.g. "stream-rate"'),
    mde: z.number().gt(0).lt(10).optional().describe('Minimum detectable effect, relative, e.g. 0.03 for 3%'),
    durationDays: z.number().int().min(1).max(180).optional().describe('Planned duration, e.g. 14; the allocation is sized to fit it'),
    slotIds: z.array(z.string()).max(10).optional().describe('Slots to consider, e.g. ["shelf-2"]'),
    contentIds: z.array(z.string()).max(20).optional().describe('Content to consider for the treatment, e.g. ["sh-focus"]'),
    key: z.string().optional().describe('Experiment key to use, e.g. "home-focus-shelf"'),
    owner: z.string().max(120).optional().describe('Accountable team or person, e.g. "home-team"'),
  }),
  outputSchema: z.object({
    config: ExperimentConfigSchema,
    rationale: z.array(z.string()).describe('Why each choice was made'),
    sample: z.object({ requiredPerArm: z.number(), requiredTotal: z.number(), unitsPerDay: z.number(), daysNeeded: z.number().nullable() }),
    validation: z.object({
      valid: z.boolean(),
      findings: z.array(FindingSchema),
      fixPatch: z.array(JsonPatchOperationSchema),
      power: PowerSchema,
      policyVersion: z.string(),
    }),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (args, ctx) => {
    const p = ctx.app.generator.plan(args);
    const v = p.validation;
    return {
      structured: {
        config: p.config,
        rationale: p.rationale,
        sample: p.sample,
        validation: { valid: v.valid, findings: v.findings, fixPatch: v.fixPatch, power: v.power ?? null, policyVersion: v.policyVersion },
      },
      text: [
        `Plan for ${quoted(p.config.name)} on ${p.config.surfaceId}: key ${p.config.key}, start ${p.config.allocationPercent}% then ${JSON.stringify(p.config.rampPlan.stages)}, ${p.config.analysisPlan.durationDays} days. Validation: ${v.valid ? 'valid' : 'invalid'}${v.findings.length ? ` (${v.findings.map((f) => f.code).join(', ')})` : ''}.`,
        ...p.rationale.map((r) => `- ${r}`),
        'Nothing was stored. Next: create_experiment with this config (structuredContent.config).',
      ].join('\n'),
    };
  },
});
