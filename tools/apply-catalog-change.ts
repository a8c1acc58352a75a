import { z } from 'zod';
import { defineTool } from '../src/mcp/define-tool.js';
import { catalogChangeArgs } from '../src/mcp/catalog-change-args.js';
import { CatalogApplyResultSchema } from '../src/app/catalog/catalog-apply.js';
import { planText } from '../src/app/catalog/catalog-plan.js';

export const applyCatalogChange = defineTool({
  name: 'apply_catalog_change',
  title: 'Apply a catalog change',
  description: [
    'Changes the catalog (surfaces, content items, metric definitions) in one audited transaction and bumps the catalog version; serving and resource subscribers see it at once. Needs the admin scope.',
    'dryRun defaults to true: the answer is then the plan, as plan_catalog_change gives it; call again with dryRun false to write. A change with a breaking part is refused whole (CATALOG_CHANGE_UNSAFE, naming the experiments) and nothing is written; applying what the store already holds writes nothing.',
    'For a breaking change add a new entity (surface "home-v2" with a new salt, a new metric id) that new experiments use.',
  ].join('\n'),
  toolset: 'admin',
  inputSchema: z.object({
    ...catalogChangeArgs,
    dryRun: z.boolean().default(true).describe('true (default): plan only; false: write it, e.g. false'),
  }),
  outputSchema: CatalogApplyResultSchema,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  handler: async (args, ctx) => {
    const { dryRun, ...input } = args;
    const r = await ctx.app.catalogChanges.applyInput(input, ctx.write(), dryRun);
    const status = r.dryRun
      ? 'Dry run: nothing written; call again with dryRun false to apply.'
      : r.applied
        ? `Applied: catalog version ${r.version}.`
        : `Nothing to apply: catalog version ${r.version} already matches.`;
    return { structured: r, text: `${planText(r.plan)}\n${status}` };
  },
});
