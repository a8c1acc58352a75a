import { defineResource } from '../src/mcp/define-resource.js';
import { policyView } from '../src/app/catalog/policy-view.js';

export const policyResource = defineResource({
  name: 'policy',
  title: 'Guardrail policy',
  description:
    'The guardrail policy in force, per surface: required guardrails and their maximum margins, maximum allocation, experiments per slot, first ramp stage cap, duration and MDE range, freeze windows, who may deploy above which allocation, and which steps need a human confirmation. validate_config and deploy_to_surface enforce it.',
  uri: 'sealab://policy',
  read: async (app) =>
    policyView(
      app.deps.policy,
      (await app.catalog.surfaces()).map((s) => s.id),
    ),
});
