import { defineResource } from '../src/mcp/define-resource.js';

export const contentResource = defineResource({
  name: 'content',
  title: 'Content catalog',
  description:
    'Content items slots can show, with their type and platforms. A slot accepts only some types (see the surface). With a remote content delivery, `sync` says where the items come from, how fresh they are, and which are kept though missing upstream (validation refuses those).',
  uri: 'sealab://content',
  read: async (app) => await app.catalog.contentView(),
});
