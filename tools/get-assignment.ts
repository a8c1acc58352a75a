import { z } from 'zod';
import { defineTool } from '../src/mcp/define-tool.js';
import { notFound } from '../src/errors.js';

export const getAssignment = defineTool({
  name: 'get_assignment',
  title: "Explain a unit's assignment",
  description: [
    'Answers "which variant does unit X see on surface Y right now, and why": the unit\'s bucket, every running experiment on the surface with in/out and the reason (bucket owned or not, platform targeting), and the resulting layout slot by slot.',
    'Use it for QA before and during a launch (e.g. check a test account lands in treatment). Read-only: it records no exposure, unlike the serving endpoints.',
    'Find surfaces with list_surfaces and running experiments with list_experiments.',
  ].join('\n'),
  inputSchema: z.object({
    surfaceId: z.string().describe('Surface id, e.g. "home"'),
    unitId: z.string().min(1).max(256).describe('The unit (user or device) id, e.g. "user-42"'),
    platform: z.enum(['ios', 'android', 'web', 'desktop']).optional().describe('The platform the unit is on, e.g. "ios"; omit to ignore platform targeting'),
  }),
  outputSchema: z.object({
    surfaceId: z.string(),
    unitId: z.string(),
    bucket: z.number().int(),
    experiments: z.array(
      z.object({ experimentId: z.string(), experimentKey: z.string(), inExperiment: z.boolean(), variant: z.string().nullable(), reason: z.string() }),
    ),
    layout: z.array(
      z.object({
        slotId: z.string(),
        contentId: z.string().nullable().describe('null: the slot is empty or hidden'),
        experimentId: z.string().nullable(),
        variant: z.string().nullable(),
      }),
    ),
  }),
  toolset: 'operator',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async ({ surfaceId, unitId, platform }, ctx) => {
    const x = ctx.app.assignments.explain(surfaceId, unitId, platform);
    if (!x) throw notFound('surface', surfaceId, 'Call list_surfaces to see the surface ids.', await ctx.app.deps.store.catalog.ids('surfaces'));
    const structured = { surfaceId, unitId, bucket: x.bucket, experiments: x.experiments, layout: x.layout };
    const lines = x.experiments.map((e) => `- ${e.experimentKey}: ${e.inExperiment ? `in, variant ${e.variant}` : 'out'} (${e.reason})`);
    return {
      structured,
      text: [`Unit '${unitId}' on ${surfaceId}: bucket ${x.bucket}.`, ...(lines.length ? lines : ['No running experiments on this surface.'])].join('\n'),
    };
  },
});
