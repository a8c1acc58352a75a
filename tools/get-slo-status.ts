import { z } from 'zod';
import { defineTool } from '../src/mcp/define-tool.js';
import { SloReportViewSchema, sloText, sloView } from '../src/ops/slo/slo-view.js';

export const getSloStatus = defineTool({
  name: 'get_slo_status',
  title: "Get sealab's own SLO status",
  description: [
    "Shows the platform's own service-level objectives (assignment availability and latency, ingest, results freshness, MCP tools, deploy sagas, config propagation, guardrail reaction): objective, current SLI over 30 days, error budget left, burn rates over 5m..30d and the burn-rate alerts firing (page / ticket, SRE Workbook multiwindow pairs).",
    'While a serving SLO pages, the ramp scheduler holds ramps and deploys above the first stage need approval: call this when a ramp says "slo_burn" or a deploy comes back pending approval.',
    'Not about experiments: use get_metrics for their results and get_ramp_status for a ramp. The definitions are in sealab://ops/slo.',
  ].join('\n'),
  toolset: 'ops',
  inputSchema: z.object({
    slo: z.string().optional().describe('Only this SLO, e.g. "assignment-availability"; omit for every SLO'),
  }),
  outputSchema: SloReportViewSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (args, ctx) => {
    const view = sloView(ctx.app.slo.status(args.slo));
    return { structured: view, text: sloText(view) };
  },
});
