import { defineResource } from '../src/mcp/define-resource.js';

export const surfaceResource = defineResource({
  name: 'surface',
  title: 'Surface',
  description: 'One surface: its slots (accepted content types, default item), running experiments and free buckets.',
  uri: 'sealab://surface/{id}',
  read: async (app, { id }) => await app.catalog.surface(id),
  list: async (app) => (await app.catalog.surfaces()).map((s) => ({ id: s.id, name: s.name })),
});
