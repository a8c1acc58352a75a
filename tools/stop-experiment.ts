import { z } from 'zod';
import { ExperimentSchema } from '../src/domain/schemas.js';
import { defineTool } from '../src/mcp/define-tool.js';

export const stopExperiment = defineTool({
  name: 'stop_experiment',
  title: 'Stop experiment (kill switch)',
  description: [
    'Ends a running or paused experiment at once: every user goes back to the default layout and its buckets are freed. This cannot be undone; the experiment becomes concluded.',
    'Use it when a guardrail degrades, something is broken, or the experiment is done. Give a reason: it lands in the audit log.',
    'version is optional so an emergency stop never waits on a read; pass it to make sure you stop what you reviewed.',
    'get_metrics still works afterwards on the data collected.',
  ].join('\n'),
  inputSchema: z.object({
    experimentId: z.string().describe('Experiment id or key'),
    reason: z.string().min(3).max(1000).describe('Why, e.g. "crash-rate up 30% in treatment"'),
    outcome: z.enum(['stopped', 'rolled_back']).default('stopped').describe('"rolled_back" when the change was harmful'),
    version: z.number().int().positive().optional().describe('Version you reviewed, to refuse if it changed since'),
  }),
  outputSchema: z.object({ experiment: ExperimentSchema }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  handler: (args, ctx) => {
    const experiment = ctx.app.experiments.stop(args, ctx.write(args.reason));
    return { structured: { experiment }, text: `Stopped '${experiment.key}' (${experiment.outcome}); status ${experiment.status}, v${experiment.version}. Users see the default layout.` };
  },
});
