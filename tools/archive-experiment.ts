import { z } from 'zod';
import { defineTool } from '../src/mcp/define-tool.js';
import { ExperimentSummarySchema, experimentLink, summaryOf } from '../src/mcp/experiment-summary.js';

export const archiveExperiment = defineTool({
  name: 'archive_experiment',
  title: 'Archive experiment',
  description: [
    'Archives a concluded experiment or an abandoned draft, the last step of the lifecycle; it stays readable (get_experiment, get_metrics) but can no longer change.',
    'A running or paused experiment must be stopped first with stop_experiment.',
    'Needs the version you read and a reason for the audit log.',
  ].join('\n'),
  inputSchema: z.object({
    experimentId: z.string().describe('Experiment id or key'),
    version: z.number().int().positive().describe('The version you read, e.g. 3'),
    reason: z.string().min(3).max(1000).describe('Why, e.g. "decision recorded in the review doc"'),
  }),
  outputSchema: z.object({ experiment: ExperimentSummarySchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  toolset: 'operator',
  handler: async (args, ctx) => {
    const experiment = await ctx.app.experiments.archive(args, ctx.write(args.reason));
    return {
      structured: { experiment: summaryOf(ctx.app, experiment) },
      links: [experimentLink(experiment)],
      text: `Archived '${experiment.key}' (v${experiment.version}).`,
    };
  },
});
