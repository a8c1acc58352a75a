import { defineResource } from '../src/mcp/define-resource.js';
import { ruleCatalog } from '../src/domain/rules/index.js';

export const rulesResource = defineResource({
  name: 'rules',
  title: 'Validation rules catalog',
  description:
    'Every rule validate_config applies: its stable code, family, severity, why it exists (rationale), the documented fix, and whether its findings carry a JSON Patch. Read it to understand a finding code.',
  uri: 'sealab://rules',
  read: () => ({
    rules: ruleCatalog(),
    notes: [
      'Findings are {code, severity, path (JSON path into the config), message, fix, patch?}; errors block deploy_to_surface, warnings do not.',
      'A patch is RFC 6902 JSON Patch against the config validate_config returned; update_experiment applies it to a stored draft.',
    ],
  }),
});
