import { z } from 'zod';
import { ChangeHintSchema, PlanRequestSchema } from '../src/domain/plan-hints.js';
import { FindingSchema, JsonPatchOperationSchema } from '../src/domain/schemas.js';
import { ConfigAnswerSchema } from '../src/mcp/experiment-summary.js';
import { defineTool } from '../src/mcp/define-tool.js';
import { listedAs } from '../src/mcp/listed-schema.js';
import { quoted } from '../src/mcp/data-text.js';
import { PowerSchema } from './validate-config.js';

const LayoutSchema = z.record(z.string(), z.string().nullable()).describe('slot id → content id (null: empty or hidden)');

export const planExperiment = defineTool({
  name: 'plan_experiment',
  title: 'Plan an experiment (generator)',
  description: [
    "Drafts a complete experiment config for a layout change on a surface, with safe defaults: control = the current layout, a treatment from structured hints (change on named slots), the policy's required guardrails, a default success metric unless metricId is given, the smallest allocation whose ramp reaches the sample within the duration, ramp stages within the policy caps.",
    'The goal is only the hypothesis: nothing is guessed from its words. Without change, a client with sampling is asked to propose it (validation judges it); otherwise the error lists the slots and hints needed.',
    'Returns the config, the rendered layouts, the rationale, the sample per ramp stage and its validation. Stores nothing: then create_experiment. Call list_surfaces first; sealab://content lists content ids.',
  ].join('\n'),
  inputSchema: PlanRequestSchema,
  outputSchema: z.object({
    config: ConfigAnswerSchema,
    rationale: z.array(z.string()).describe('Why each choice was made'),
    layouts: z.record(z.string(), LayoutSchema).describe('What each variant renders'),
    hints: listedAs(
      ChangeHintSchema.extend({
        from: z.enum(['caller', 'client_model']).describe("Who gave the change: the caller, or the client's model through sampling"),
      }),
      { type: 'object', description: 'The change planned: operation, slots, content, from (caller or client_model: proposed through sampling)' },
    ),
    sample: z.object({
      requiredPerArm: z.number(),
      requiredTotal: z.number(),
      stages: z.array(z.object({ percent: z.number(), unitsPerDay: z.number(), days: z.number().nullable() })).describe('Days at each ramp stage'),
      totalDays: z.number().nullable().describe('Days to the planned sample through the ramp; null when it is never reached'),
    }),
    validation: listedAs(
      z.object({
        valid: z.boolean(),
        findings: z.array(FindingSchema),
        fixPatch: z.array(JsonPatchOperationSchema),
        power: PowerSchema,
        policyVersion: z.string(),
      }),
      {
        type: 'object',
        description: "valid, findings, fixPatch, power and policyVersion, as validate_config's answer",
        properties: { valid: { type: 'boolean' } },
      },
    ),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async (args, ctx) => {
    const g = ctx.app.generator;
    let req = args;
    if (!args.change) {
      const step = ctx.sample(await g.hintQuestion(args));
      if (step.kind === 'ask') return step.ask;
      if (step.kind === 'answered') req = { ...args, change: await g.hintsFromModel(args, step.text) };
    }
    const p = await g.plan(req, req === args ? 'caller' : 'client_model');
    const v = p.validation;
    return {
      structured: {
        ...p,
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
