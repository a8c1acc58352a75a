import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { Transport } from '@modelcontextprotocol/server';
import type { Container } from '../container.js';
import { createMcpServerFactory } from './mcp-server.js';
import type { ToolSelection } from '../mcp/toolsets.js';
import { createSubscriptionHub } from './subscriptions.js';
import { urisForChange } from '../../resources/index.js';

/** MCP over stdio for Claude Desktop and IDE agents. stdout carries only the protocol. `readOnly`: the read-only tools only. */
export function startStdio(
  container: Container,
  /** transport: the process's stdin/stdout unless given (tests pass an in-memory one). */
  opts: { readOnly?: boolean; tools?: ToolSelection; transport?: Transport } = {},
): { close(): Promise<void> } {
  const hub = createSubscriptionHub({ onerror: (err) => container.logger.warn({ err: err.message }, 'notification failed') });
  const factory = createMcpServerFactory(container, 'mcp-stdio', { ...(opts.readOnly ? { scopes: ['read'] } : {}), tools: opts.tools });
  const handle = serveStdio(
    async (ctx) => {
      const server = await factory(ctx);
      hub.attach(server, ctx.era);
      return server;
    },
    { onerror: (err) => container.logger.warn({ err: err.message }, 'stdio transport error'), ...(opts.transport ? { transport: opts.transport } : {}) },
  );
  const announce = (uris: string[]) => {
    for (const uri of uris) hub.resourceUpdated(uri);
  };
  const unsubscribe = container.onChange((e) => {
    // A catalog change names every surface's resource: their ids come from the async store.
    if (e.kind === 'catalog')
      container.deps.store.catalog.ids('surfaces').then(
        (ids) => announce(urisForChange(e, () => ids)),
        (err: unknown) => container.logger.warn({ err }, 'could not list the surfaces to announce a catalog change'),
      );
    else announce(urisForChange(e, () => []));
    hub.resourcesChanged();
  });
  return {
    close: async () => {
      unsubscribe();
      await handle.close();
    },
  };
}
