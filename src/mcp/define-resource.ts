import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/server';
import type { Container } from '../container.js';

export const SCHEME = 'sealab://';

/** A fixed resource, or a template with one id variable that lists and completes its ids. */
export interface ResourceDefinition {
  name: string;
  title: string;
  description: string;
  /** Fixed URI, or a template such as sealab://surface/{id}. */
  uri: string;
  read: (app: Container, vars: Record<string, string>) => unknown;
  /** For templates: the ids that exist, with a display name. */
  list?: (app: Container) => { id: string; name: string }[] | Promise<{ id: string; name: string }[]>;
}

export const defineResource = (def: ResourceDefinition) => def;

const json = (uri: string, data: unknown) => ({ contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(data, null, 2) }] });

export function registerResources(server: McpServer, defs: ResourceDefinition[], app: Container): void {
  for (const def of defs) {
    const meta = { title: def.title, description: def.description, mimeType: 'application/json' };
    if (!def.list) {
      server.registerResource(def.name, def.uri, meta, async (uri) => json(uri.href, await def.read(app, {})));
      continue;
    }
    const list = def.list;
    const template = new ResourceTemplate(def.uri, {
      list: async () => ({ resources: (await list(app)).map((x) => ({ uri: def.uri.replace('{id}', x.id), name: x.name, mimeType: 'application/json' })) }),
      complete: {
        id: async (value) =>
          (await list(app))
            .map((x) => x.id)
            .filter((id) => id.startsWith(value))
            .slice(0, 100),
      },
    });
    server.registerResource(def.name, template, meta, async (uri, vars) => {
      const id = Array.isArray(vars.id) ? vars.id[0] : vars.id;
      return json(uri.href, await def.read(app, { id: decodeURIComponent(String(id)) }));
    });
  }
}
