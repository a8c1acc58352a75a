import { z } from 'zod';
import { FindingSchema } from '../src/domain/schemas.js';
import { defineTool } from '../src/mcp/define-tool.js';

export const validateConfig = defineTool({
  name: 'validate_config',
  title: 'Validate experiment config',
  description: [
    'Checks an experiment against sealab\'s guardrails and returns findings {code, severity, path, message, fix} and valid.',
    'Give experimentId to validate a stored experiment: a passing result is recorded against that exact version, which deploy_to_surface requires.',
    'Or give config to check a plan before create_experiment (nothing is recorded).',
    'Rules: schema, exactly one control, weights sum to 100, surface/slots/content/metrics exist and fit (slot accepts the content type), at least one guardrail, allocation within policy and within the buckets left free by colliding running experiments, duration within policy, and a power check (required sample for the MDE vs traffic over the planned duration).',
    'Errors block deployment; warnings do not. Apply each finding\'s fix, then validate again.',
  ].join('\n'),
  inputSchema: z.object({
    experimentId: z.string().optional().describe('Stored experiment id or key, e.g. "exp_ab12cd34ef56ab78"'),
    config: z.unknown().optional().describe('An inline experiment config (same shape as create_experiment\'s config) to check before creating'),
  }),
  outputSchema: z.object({
    valid: z.boolean(),
    findings: z.array(FindingSchema),
    experimentId: z.string().nullable(),
    version: z.number().int().nullable().describe('The version the verdict is recorded against'),
    configHash: z.string().nullable().describe('sha256 of the canonical config judged'),
    recorded: z.boolean(),
    power: z
      .object({ requiredPerArm: z.number(), requiredTotal: z.number(), expectedUnits: z.number(), daysNeeded: z.number().nullable(), metricId: z.string() })
      .nullable()
      .describe('Power check for the first success metric'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (args, ctx) => {
    const r = ctx.app.experiments.validate(args, ctx.write());
    const errors = r.findings.filter((x) => x.severity === 'error').length;
    const lines = r.findings.map((x) => `- [${x.severity}] ${x.code} at ${x.path}: ${x.message}. Fix: ${x.fix}`);
    const head = r.valid ? `Valid${r.recorded ? ` (recorded for v${r.version}; deploy_to_surface may proceed)` : ''}.` : `Invalid: ${errors} error(s).`;
    return {
      structured: { valid: r.valid, findings: r.findings, experimentId: r.experimentId, version: r.version, configHash: r.configHash, recorded: r.recorded, power: r.power ?? null },
      text: [head, ...lines].join('\n'),
    };
  },
});
