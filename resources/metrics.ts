import { defineResource } from '../src/mcp/define-resource.js';

export const metricsResource = defineResource({
  name: 'metrics',
  title: 'Metric catalog',
  description: 'Metric definitions: kind (binary/mean/count), desirable direction, whether it is a guardrail, baseline mean and variance used for power.',
  uri: 'sealab://metrics',
  read: async (app) => ({ metrics: await app.catalog.metrics() }),
});
