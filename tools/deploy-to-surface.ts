import { z } from 'zod';
import { ExperimentSchema } from '../src/domain/schemas.js';
import { defineTool } from '../src/mcp/define-tool.js';

export const deployToSurface = defineTool({
  name: 'deploy_to_surface',
  title: 'Deploy experiment to its surface',
  description: [
    'Starts a validated experiment on its surface (allocating buckets so users get variants), resumes a paused one, or changes the allocation of a running one (a ramp).',
    'Requires a passing validate_config for the current version; pass the version you read (get_experiment) so a concurrent change is caught.',
    'Use dryRun: true first to see what would change (buckets, colliding experiments) without changing anything.',
    'Idempotent: deploying the same allocation again changes nothing; an idempotencyKey makes retries return the first outcome.',
    'To end an experiment use stop_experiment, not this tool.',
  ].join('\n'),
  inputSchema: z.object({
    experimentId: z.string().describe('Experiment id or key, e.g. "exp_ab12cd34ef56ab78"'),
    version: z.number().int().positive().describe('The version you read and validated, e.g. 1'),
    allocationPercent: z.number().gt(0).max(100).optional().describe('New share of surface traffic, e.g. 5; omit to use the configured one'),
    dryRun: z.boolean().default(false).describe('Show the change without making it'),
    idempotencyKey: z.string().min(8).max(128).optional().describe('Client-chosen key for safe retries'),
  }),
  outputSchema: z.object({
    applied: z.boolean(),
    replayed: z.boolean(),
    plan: z.object({
      action: z.enum(['start', 'resize', 'resume', 'noop']),
      fromPercent: z.number(),
      toPercent: z.number(),
      bucketsBefore: z.number().int(),
      bucketsAfter: z.number().int(),
      collidingWith: z.array(z.string()),
    }),
    experiment: ExperimentSchema,
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (args, ctx) => {
    const r = ctx.app.experiments.deploy(args, ctx.write());
    const p = r.plan;
    const what = args.dryRun ? 'Dry run: would' : r.applied ? 'Done:' : 'No change:';
    return {
      structured: r,
      text: `${what} ${p.action} '${r.experiment.key}' ${p.fromPercent}% → ${p.toPercent}% (${p.bucketsAfter} buckets). Status ${r.experiment.status}, v${r.experiment.version}.${r.applied ? ' Next: send traffic, then get_metrics.' : ''}`,
    };
  },
});
