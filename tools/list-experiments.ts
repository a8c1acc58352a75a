import { z } from 'zod';
import { ExperimentStatus } from '../src/domain/schemas.js';
import { defineTool } from '../src/mcp/define-tool.js';

export const listExperiments = defineTool({
  name: 'list_experiments',
  title: 'List experiments',
  description:
    'Lists experiments with their id, key, surface, status, allocation and version, optionally filtered by surface or status. Use it to find an id for get_experiment, validate_config, deploy_to_surface, get_metrics or stop_experiment. For full details call get_experiment.',
  inputSchema: z.object({
    surfaceId: z.string().optional().describe('Only this surface, e.g. "home"'),
    status: z.array(ExperimentStatus).optional().describe('Only these statuses, e.g. ["running"]'),
  }),
  outputSchema: z.object({
    experiments: z.array(
      z.object({
        id: z.string(),
        key: z.string(),
        name: z.string(),
        surfaceId: z.string(),
        status: ExperimentStatus,
        allocationPercent: z.number(),
        version: z.number().int(),
        owner: z.string(),
      }),
    ),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async (args, ctx) => {
    const experiments = (await ctx.app.experiments.list(args)).map((e) => ({
      id: e.id,
      key: e.key,
      name: e.name,
      surfaceId: e.surfaceId,
      status: e.status,
      allocationPercent: e.allocationPercent,
      version: e.version,
      owner: e.owner,
    }));
    return {
      structured: { experiments },
      text: experiments.length
        ? experiments.map((e) => `- ${e.id} '${e.key}' on ${e.surfaceId}: ${e.status} ${e.allocationPercent}% v${e.version}`).join('\n')
        : 'No experiments match.',
    };
  },
});
