import { z } from 'zod';
import { JsonPatchOperationSchema } from '../src/domain/schemas.js';
import { defineTool } from '../src/mcp/define-tool.js';
import { ConfigInputSchema, ExperimentSummarySchema, experimentLink, summaryOf } from '../src/mcp/experiment-summary.js';

export const updateExperiment = defineTool({
  name: 'update_experiment',
  title: 'Edit a draft experiment',
  description: [
    "Changes a draft: apply a JSON Patch (RFC 6902) to its stored config — typically validate_config's fixPatch — or replace the whole config.",
    'Needs the version you read; returns the new one. Drafts only: a running experiment ramps with deploy_to_surface and ends with stop_experiment.',
    'Any edit makes earlier plan hashes stale: call validate_config again before deploy_to_surface.',
    'Example patch: [{"op":"add","path":"/guardrails/-","value":{"metricId":"crash-rate","margin":0.02}},{"op":"replace","path":"/allocationPercent","value":10}].',
  ].join('\n'),
  inputSchema: z.object({
    experimentId: z.string().describe('Draft experiment id or key, e.g. "exp_ab12cd34ef56ab78"'),
    version: z.number().int().positive().describe('The version you read, e.g. 1'),
    patch: z
      .array(JsonPatchOperationSchema)
      .min(1)
      .max(100)
      .optional()
      .describe('JSON Patch operations against the stored config, e.g. [{"op":"replace","path":"/allocationPercent","value":10}]'),
    config: ConfigInputSchema("The whole new config instead of a patch (create_experiment's config shape)").optional(),
  }),
  outputSchema: z.object({
    experiment: ExperimentSummarySchema,
    changed: z.boolean().describe('False when the edit left the config as it was (no new version)'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: async (args, ctx) => {
    const r = await ctx.app.experiments.update(args, ctx.write());
    const e = r.experiment;
    return {
      structured: { experiment: summaryOf(ctx.app, e), changed: r.changed },
      links: [experimentLink(e)],
      text: `${r.changed ? 'Updated' : 'Unchanged'} draft '${e.key}' → v${e.version}. Next: validate_config {"experimentId":"${e.id}"}.`,
    };
  },
});
