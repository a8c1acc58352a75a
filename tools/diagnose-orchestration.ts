import { defineTool } from '../src/mcp/define-tool.js';
import { diagnosisText } from '../src/ops/diagnosis.js';
import { DiagnosisOptionsSchema, DiagnosisSchema } from '../src/ops/diagnosis-schema.js';

export const diagnoseOrchestration = defineTool({
  name: 'diagnose_orchestration',
  title: 'Diagnose slow orchestration',
  description: [
    'Shows where deploys, ramps, pauses and stops spend their time: the slowest recent saga operations with the step that dominated each, p50/p95 per step and per downstream system (experimentation backend, content delivery) with retries and failures, queue depths, operations stuck unfinished with their owner process and lease, and p50/p95 per MCP tool.',
    "Use it when a deploy or ramp is slow or seems hung, before retrying. Read-only and cheap. For one experiment's state use get_experiment; for a ramp's gate, get_ramp_status.",
  ].join('\n'),
  inputSchema: DiagnosisOptionsSchema,
  outputSchema: DiagnosisSchema,
  toolset: 'ops',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async (args, ctx) => {
    const d = await ctx.app.diagnose(args);
    return { structured: d, text: diagnosisText(d) };
  },
});
