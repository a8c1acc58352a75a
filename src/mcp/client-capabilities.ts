import { CLIENT_CAPABILITIES_META_KEY, type ClientCapabilities, type McpServer, type ServerContext } from '@modelcontextprotocol/server';

/** What this request's client can do: the 2026 per-request envelope, or what a 2025 client declared at initialize. */
export function clientCapabilities(server: McpServer, sctx: ServerContext): ClientCapabilities | undefined {
  const fromEnvelope = (sctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
  return fromEnvelope ?? server.server.getClientCapabilities();
}
