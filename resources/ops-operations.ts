import { defineResource } from '../src/mcp/define-resource.js';

export const opsOperationsResource = defineResource({
  name: 'ops-operations',
  title: 'Orchestration diagnosis',
  description:
    'Where orchestration spends its time over the last hour: slowest saga operations and the step that dominated each, p50/p95 per step and per downstream system, queue depths, stuck operations with their owner and lease, p50/p95 per MCP tool. diagnose_orchestration reads the same with a chosen window.',
  uri: 'sealab://ops/operations',
  read: (app) => app.diagnose(),
});
