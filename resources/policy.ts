import { defineResource } from '../src/mcp/define-resource.js';

export const policyResource = defineResource({
  name: 'policy',
  title: 'Guardrail policy',
  description: 'The guardrail policy validate_config enforces: minimum guardrails, maximum allocation, duration range, variant limit, SRM threshold.',
  uri: 'sealab://policy',
  read: (app) => ({ policy: app.deps.policy }),
});
