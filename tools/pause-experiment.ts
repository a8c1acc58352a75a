import { z } from 'zod';
import { defineTool } from '../src/mcp/define-tool.js';
import { ExperimentSummarySchema, experimentLink, summaryOf } from '../src/mcp/experiment-summary.js';

export const pauseExperiment = defineTool({
  name: 'pause_experiment',
  title: 'Pause experiment',
  description: [
    'Pauses a running experiment: users get the default layout, but the experiment keeps its buckets so nothing else takes them and assignments are unchanged when it resumes.',
    'Resume with deploy_to_surface (same version you get back here). To end it for good use stop_experiment instead.',
    'Needs the version you read (get_experiment) and a reason, which lands in the audit log.',
  ].join('\n'),
  inputSchema: z.object({
    experimentId: z.string().describe('Experiment id or key, e.g. "home-focus-shelf"'),
    version: z.number().int().positive().describe('The version you read, e.g. 2'),
    reason: z.string().min(3).max(1000).describe('Why, e.g. "content team asked for a freeze"'),
  }),
  outputSchema: z.object({ experiment: ExperimentSummarySchema }),
  toolset: 'operator',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: async (args, ctx) => {
    const experiment = await ctx.app.deployments.pause(args, ctx.write(args.reason));
    return {
      structured: { experiment: summaryOf(ctx.app, experiment) },
      links: [experimentLink(experiment)],
      text: `Paused '${experiment.key}' (v${experiment.version}); it keeps its buckets. Resume with deploy_to_surface {"experimentId":"${experiment.id}","version":${experiment.version}}.`,
    };
  },
});
