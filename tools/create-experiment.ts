import { z } from 'zod';
import { ExperimentConfigSchema } from '../src/domain/schemas.js';
import { defineTool } from '../src/mcp/define-tool.js';
import { ExperimentSummarySchema, experimentLink, summaryOf } from '../src/mcp/experiment-summary.js';

export const createExperiment = defineTool({
  name: 'create_experiment',
  title: 'Create experiment (draft)',
  description: [
    'Stores a new experiment as a draft and returns its summary (id, version) with a link to the full record. Nothing is served until deploy_to_surface.',
    'plan_experiment drafts a complete, policy-safe config from a goal; or build one: list_surfaces for slots, sealab://content, sealab://metrics, sealab://policy for the caps.',
    'Next: validate_config with the experimentId; apply its patches with update_experiment; then deploy_to_surface with the version and planHash.',
    'Pass idempotencyKey when retrying: same key and config return the same experiment; same key, other config is refused.',
    'Not for a running experiment: deploy_to_surface changes allocation, stop_experiment ends it.',
  ].join('\n'),
  inputSchema: z.object({
    config: ExperimentConfigSchema.describe(
      'The experiment plan. Example: {"key":"home-focus-shelf","name":"Focus shelf on Home","hypothesis":"A focus shelf in slot shelf-2 raises stream rate","owner":"home-team","surfaceId":"home","variants":[{"key":"control","isControl":true,"weight":50},{"key":"focus","weight":50,"overrides":[{"slotId":"shelf-2","contentId":"sh-focus"}]}],"allocationPercent":10,"rampPlan":{"stages":[25]},"successMetrics":["stream-rate"],"guardrails":[{"metricId":"crash-rate","margin":0.02}]}',
    ),
    idempotencyKey: z.string().min(8).max(128).optional().describe('Client-chosen key that makes retries safe, e.g. a UUID'),
  }),
  outputSchema: z.object({
    experiment: ExperimentSummarySchema,
    replayed: z.boolean().describe('True when an earlier call with the same idempotency key created it'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async ({ config, idempotencyKey }, ctx) => {
    const { experiment, replayed } = await ctx.app.experiments.create({ config, idempotencyKey }, ctx.write());
    return {
      structured: { experiment: summaryOf(ctx.app, experiment), replayed },
      links: [experimentLink(experiment)],
      text: `${replayed ? 'Already created' : 'Created'} draft ${experiment.id} ('${experiment.key}') v${experiment.version} on ${experiment.surfaceId}. Next: validate_config {"experimentId":"${experiment.id}"}.`,
    };
  },
});
