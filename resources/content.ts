import { defineResource } from '../src/mcp/define-resource.js';

export const contentResource = defineResource({
  name: 'content',
  title: 'Content catalog',
  description: 'Content items slots can show, with their type and platforms. A slot accepts only some types (see the surface).',
  uri: 'sealab://content',
  read: (app) => ({ content: app.catalog.content() }),
});
