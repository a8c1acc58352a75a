import { z } from 'zod';
import { defineTool } from '../src/mcp/define-tool.js';
import { catalogChangeArgs } from '../src/mcp/catalog-change-args.js';
import { CatalogPlanSchema, planText } from '../src/app/catalog/catalog-plan.js';

export const planCatalogChange = defineTool({
  name: 'plan_catalog_change',
  title: 'Plan a catalog change',
  description: [
    'Shows what a change to the catalog (surfaces with slots, content items, metric definitions) would do, without writing: each entity added, changed (field by field, e.g. slots.shelf-2.accepts) or removed, classified additive or breaking, with the experiments a breaking change would corrupt.',
    'Use it before apply_catalog_change, e.g. to register a surface or define a metric computed from raw events. Breaking changes (a salt or bucketCount, a slot, content item or metric in use removed or retyped, a metric in use redefined) are refused by apply: add a new surface or metric id instead.',
    'Read sealab://surfaces, sealab://content and sealab://metrics for the current catalog. Not for experiments: see create_experiment.',
  ].join('\n'),
  toolset: 'admin',
  inputSchema: z.object(catalogChangeArgs),
  outputSchema: CatalogPlanSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async (args, ctx) => {
    const plan = await ctx.app.catalogChanges.planInput(args);
    return { structured: plan, text: planText(plan) };
  },
});
