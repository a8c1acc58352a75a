import { z } from 'zod';
import { FindingSchema, JsonPatchOperationSchema } from '../src/domain/schemas.js';
import { ConfigAnswerSchema } from '../src/mcp/experiment-summary.js';
import { listedAs } from '../src/mcp/listed-schema.js';
import { defineTool } from '../src/mcp/define-tool.js';

const StageSchema = z.object({ percent: z.number(), unitsPerDay: z.number(), days: z.number().nullable(), reason: z.string() });
const PowerObject = z.object({
  requiredPerArm: z.number(),
  requiredTotal: z.number(),
  expectedUnits: z.number().describe('Units the ramp delivers within durationDays'),
  daysNeeded: z.number().nullable().describe('Days through the ramp to the planned sample'),
  metricId: z.string().describe('The binding metric: the largest need'),
  method: z.enum(['always-valid', 'fixed-horizon', 'group-sequential']).describe('The analysis the needs are sized for'),
  needs: z
    .array(z.object({ metricId: z.string(), test: z.enum(['superiority', 'non_inferiority', 'no_deterioration']), requiredPerArm: z.number().nullable() }))
    .describe('Per success metric and guardrail; null: no planned sample needed'),
  stages: z.array(StageSchema).describe('Days per ramp stage'),
});
export const PowerSchema = listedAs(PowerObject, {
  type: 'object',
  description:
    'requiredPerArm, requiredTotal, expectedUnits, daysNeeded, metricId (the binding one), method, needs [{metricId, test, requiredPerArm}], stages [{percent, unitsPerDay, days, reason}]',
})
  .nullable()
  .describe("The plan's sizing: every success metric and non-inferiority guardrail, through the ramp");

export const validateConfig = defineTool({
  name: 'validate_config',
  title: 'Validate experiment config',
  description: [
    "Checks an experiment against sealab's rules and the surface policy; returns valid and findings {code, severity, path, message, fix, patch?}.",
    'Give experimentId to validate a stored experiment: the verdict is recorded and you get a planHash, which deploy_to_surface must cite. Editing the config or a policy change makes it stale: validate again.',
    'Or give config to check a plan before create_experiment (nothing is recorded, no planHash).',
    'A mechanical fix carries a JSON Patch against the returned config; fixPatch is all of them: send it to update_experiment for a stored draft, or apply it to your inline config.',
    'Rules (sealab://rules explains each code): shape, control and weights, policy caps, slot and content fit, collisions, concurrency, duplicates, required guardrails, metrics, power, freeze windows, duration.',
    'Errors block deployment; warnings do not.',
  ].join('\n'),
  inputSchema: z.object({
    experimentId: z.string().optional().describe('Stored experiment id or key, e.g. "exp_ab12cd34ef56ab78"'),
    config: z.unknown().optional().describe("An inline experiment config (same shape as create_experiment's config) to check before creating"),
  }),
  outputSchema: z.object({
    valid: z.boolean(),
    findings: z.array(FindingSchema),
    experimentId: z.string().nullable(),
    version: z.number().int().nullable().describe('The version the verdict is recorded against'),
    configHash: z.string().nullable(),
    planHash: z.string().nullable().describe('Cite it in deploy_to_surface: this exact config under this policy, validated. Null for inline configs'),
    policyVersion: z.string(),
    recorded: z.boolean(),
    config: ConfigAnswerSchema.nullable().describe('The config as judged, defaults filled: the patches apply to it'),
    fixPatch: z.array(JsonPatchOperationSchema).describe("Every finding's patch in order, duplicates removed"),
    power: PowerSchema,
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async (args, ctx) => {
    const r = await ctx.app.experiments.validate(args, ctx.write());
    const errors = r.findings.filter((x) => x.severity === 'error').length;
    const lines = r.findings.map(
      (x) => `- [${x.severity}] ${x.code} at ${x.path}: ${x.message}. Fix: ${x.fix}${x.patch ? ` Patch: ${JSON.stringify(x.patch)}` : ''}`,
    );
    const head = r.valid
      ? `Valid${r.recorded ? ` (v${r.version}, policy ${r.policyVersion}). Next: deploy_to_surface {"experimentId":"${r.experimentId}","version":${r.version},"planHash":"${r.planHash}","dryRun":true}` : '. Next: create_experiment with this config'}.`
      : `Invalid: ${errors} error(s).${r.fixPatch.length ? ` ${r.recorded ? `update_experiment {"experimentId":"${r.experimentId}","version":${r.version},"patch":fixPatch} applies the mechanical fixes` : 'Apply fixPatch to config'}, then validate again.` : ''}`;
    return {
      structured: {
        valid: r.valid,
        findings: r.findings,
        experimentId: r.experimentId,
        version: r.version,
        configHash: r.configHash,
        planHash: r.planHash,
        policyVersion: r.policyVersion,
        recorded: r.recorded,
        config: r.config ?? null,
        fixPatch: r.fixPatch,
        power: r.power ?? null,
      },
      text: [head, ...lines].join('\n'),
    };
  },
});
