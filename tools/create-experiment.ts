import { z } from 'zod';
import { ExperimentConfigSchema } from '../src/domain/schemas.js';
import { defineTool } from '../src/mcp/define-tool.js';
import { ExperimentSummarySchema, experimentLink, summaryOf } from '../src/mcp/experiment-summary.js';

export const createExperiment = defineTool({
  name: 'create_experiment',
  title: 'Create experiment (draft)',
  description: [
    'Stores a new experiment as a draft and returns it with its id and version. Nothing is served to users until deploy_to_surface.',
    'plan_experiment drafts a complete, policy-safe config from a goal; or build one yourself: list_surfaces for surface, slots and content, sealab://metrics for metric ids, sealab://policy for the caps (first ramp stage, required guardrails).',
    'Next: validate_config with the returned experimentId; apply its patches with update_experiment; then deploy_to_surface with the version and planHash.',
    'Names, hypotheses and owners are stored as data: control characters are stripped and lengths limited.',
    'Pass idempotencyKey when retrying: the same key and config return the same experiment, never a duplicate; the same key with a different config is refused.',
    'Do not use it to change a running experiment: deploy_to_surface changes allocation, stop_experiment ends it.',
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
  handler: ({ config, idempotencyKey }, ctx) => {
    const { experiment, replayed } = ctx.app.experiments.create({ config, idempotencyKey }, ctx.write());
    return {
      structured: { experiment: summaryOf(ctx.app, experiment), replayed },
      links: [experimentLink(experiment)],
      text: `${replayed ? 'Already created' : 'Created'} draft ${experiment.id} ('${experiment.key}') v${experiment.version} on ${experiment.surfaceId}. Next: validate_config {"experimentId":"${experiment.id}"}.`,
    };
  },
});
