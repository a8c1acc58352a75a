import { z } from 'zod';
import { SurfaceSchema } from '../src/domain/schemas.js';
import { defineTool } from '../src/mcp/define-tool.js';
import { listedAs } from '../src/mcp/listed-schema.js';

const SurfaceView = SurfaceSchema.extend({
  runningExperiments: z.array(
    z.object({ id: z.string(), key: z.string(), status: z.string(), allocationPercent: z.number(), slots: z.array(z.string()), buckets: z.number().int() }),
  ),
  freeBuckets: z.number().int(),
  freePercent: z.number(),
});
/** What planning reads of a surface; buckets, salt and holdbacks stay in sealab://surface/{id}. */
export const SurfaceViewSchema = listedAs(SurfaceView, {
  type: 'object',
  description:
    'id, name, platforms, dailyTraffic, slots [{id, accepts (content types), optional, defaultContentId}], runningExperiments [{id, key, slots, allocationPercent}], freePercent; the rest in sealab://surface/{id}',
  properties: { id: { type: 'string' }, slots: { type: 'array', items: { type: 'object' } } },
});

export const listSurfaces = defineTool({
  name: 'list_surfaces',
  title: 'List surfaces',
  description:
    'Lists the surfaces experiments run on (e.g. home, search) with their slots (accepted content types, default item), platforms, daily traffic, running experiments and free share. Call it first when planning, then sealab://content and sealab://metrics, then plan_experiment or create_experiment.',
  inputSchema: z.object({}),
  outputSchema: z.object({ surfaces: z.array(SurfaceViewSchema) }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async (_args, ctx) => {
    const surfaces = await ctx.app.catalog.surfaces();
    return {
      structured: { surfaces },
      text: surfaces
        .map(
          (s) =>
            `- ${s.id} (${s.name}): slots ${s.slots.map((x) => `${x.id}[${x.accepts.join('/')}]`).join(', ')}; ${s.dailyTraffic}/day; ${s.runningExperiments.length} active; ${s.freePercent}% buckets free`,
        )
        .join('\n'),
    };
  },
});
