import { RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY, getUiCapability, registerAppResource } from '@modelcontextprotocol/ext-apps/server';
import type { ClientCapabilities, McpServer } from '@modelcontextprotocol/server';

/**
 * An MCP App view (the MCP Apps extension, spec 2026-01-26): a `ui://` HTML resource a host renders in
 * a sandboxed iframe for the tools that name it in `_meta.ui.resourceUri`. The HTML is self-contained
 * (scripts and styles inline), so the restrictive default CSP of the spec is all it needs.
 */
export interface AppResourceDefinition {
  name: string;
  title: string;
  description: string;
  uri: `ui://${string}`;
  html: () => Promise<string>;
}

export const defineAppResource = (def: AppResourceDefinition) => def;

/** Listed in resources/list (the spec lets hosts review UI templates at connection time) and read as `text/html;profile=mcp-app`. */
export function registerAppResources(server: McpServer, defs: AppResourceDefinition[]): void {
  const ui = { prefersBorder: true };
  for (const def of defs) {
    registerAppResource(server, def.name, def.uri, { title: def.title, description: def.description, _meta: { ui } }, async () => ({
      contents: [{ uri: def.uri, mimeType: RESOURCE_MIME_TYPE, text: await def.html(), _meta: { ui } }],
    }));
  }
}

/** A tool's `_meta` naming its view: `ui.resourceUri`, and the flat legacy key older hosts read (as ext-apps' registerAppTool sets both). */
export const toolUiMeta = (resourceUri: string) => ({ ui: { resourceUri }, [RESOURCE_URI_META_KEY]: resourceUri });

/** Whether the client declared it renders MCP Apps (the `io.modelcontextprotocol/ui` extension with the HTML profile). */
export const rendersApps = (caps: ClientCapabilities | undefined) => getUiCapability(caps)?.mimeTypes?.includes(RESOURCE_MIME_TYPE) === true;
