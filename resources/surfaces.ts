import { defineResource } from '../src/mcp/define-resource.js';

export const surfacesResource = defineResource({
  name: 'surfaces',
  title: 'Surfaces',
  description: 'Every surface with slots, platforms, traffic, running experiments and free buckets.',
  uri: 'sealab://surfaces',
  read: async (app) => ({ surfaces: await app.catalog.surfaces() }),
});
