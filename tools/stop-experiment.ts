import type { GivenConfirmation } from '../src/app/experiments/experiment-types.js';
import { z } from 'zod';
import { ExperimentSchema } from '../src/domain/schemas.js';
import { ConfirmationArgSchema, defineTool } from '../src/mcp/define-tool.js';

export const stopExperiment = defineTool({
  name: 'stop_experiment',
  title: 'Stop experiment (kill switch, roll back, ship)',
  description: [
    'Ends a running or paused experiment at once: every user goes back to the default layout and its buckets are freed. This cannot be undone; the experiment becomes concluded with the outcome you give.',
    'outcome: "stopped" (done or broken), "rolled_back" (the change was harmful), "shipped" (the decision is to ship the treatment; changing the default layout is then a separate change).',
    'The policy may ask a human to confirm: clients with elicitation get a short form; others pass confirmation {reason}. The reason and the confirmation land in the audit log. A decline changes nothing.',
    'version is optional so an emergency stop never waits on a read; pass it to make sure you stop what you reviewed. get_metrics still works afterwards.',
  ].join('\n'),
  inputSchema: z.object({
    experimentId: z.string().describe('Experiment id or key'),
    reason: z.string().min(3).max(1000).describe('Why, e.g. "crash-rate up 30% in treatment"'),
    outcome: z
      .enum(['stopped', 'rolled_back', 'shipped'])
      .default('stopped')
      .describe('"rolled_back" when the change was harmful, "shipped" when the decision is to ship'),
    version: z.number().int().positive().optional().describe('Version you reviewed, to refuse if it changed since, e.g. 3'),
    confirmation: ConfirmationArgSchema.optional(),
  }),
  outputSchema: z.object({ experiment: ExperimentSchema }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  handler: async (args, ctx) => {
    const { confirmation, ...rest } = args;
    const status = ctx.app.stops.stopConfirmation(rest);
    let given: GivenConfirmation | undefined;
    if (status.required) {
      const step = ctx.confirm(status.summary, confirmation);
      if (step.kind === 'ask') return step.ask;
      given = step.confirmation;
    }
    const experiment = await ctx.app.deployments.stop({ ...rest, ...(given ? { confirmation: given } : {}) }, ctx.write(args.reason));
    return {
      structured: { experiment },
      text: `Stopped '${experiment.key}' (${experiment.outcome}); status ${experiment.status}, v${experiment.version}. Users see the default layout.${given ? ` Confirmed via ${given.via}.` : ''}`,
    };
  },
});
