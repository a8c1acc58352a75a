import { createMcpHandler, DEFAULT_MAX_REQUEST_BODY_SIZE, isJsonContentType, isLegacyRequest, type McpServerFactory } from '@modelcontextprotocol/server';
import { createLegacySessions, jsonRpcErrorResponse, type RouteRequestOptions } from './legacy-sessions.js';
import { advertiseResourceSubscriptions, createSubscriptionHub } from './subscriptions.js';

declare module 'hono' {
  /** The /mcp body parser (mcp-body.ts) stores a POST's parsed JSON here; mounts pass it to `fetch`. */
  interface ContextVariableMap {
    parsedBody: unknown;
  }
}

/** The `/mcp` endpoint for both protocol eras, plus the change events sealab publishes to them. */
export interface McpRoute {
  fetch(request: Request, options?: RouteRequestOptions): Promise<Response>;
  /** `notifications/resources/updated` to 2025 sessions that subscribed and 2026 listeners that asked. */
  resourceUpdated(uri: string): void;
  /** `notifications/resources/list_changed` to every 2025 session and every 2026 listener that asked. */
  resourcesChanged(): void;
  close(): Promise<void>;
}

export interface McpRouteOptions {
  /** Bound on a POST body read by either leg (bytes). Default 4 MiB, as the SDK. */
  maxRequestBodySize?: number;
  onerror?: (error: Error) => void;
  /** A 2025 session with no request and no open stream for this long is closed. Default 30 min. */
  sessionIdleMs?: number;
  /** A 2025 session whose GET stream ended, with no request or stream since, is closed after this long. Default 2 min. */
  orphanIdleMs?: number;
  /** Open 2025 sessions at most; the least recently used is closed to admit a new one. Default 1000. */
  maxSessions?: number;
}

/**
 * 2026-07-28 traffic goes to the SDK's per-request handler; 2025-era traffic (`isLegacyRequest`)
 * to sessionful streamable HTTP, because the SDK's stateless fallback has no GET stream, no
 * `resources/subscribe` and no server-to-client requests. See docs/adr/0001-mcp-sdk-v2.md.
 */
export function createMcpRoute(factory: McpServerFactory, options: McpRouteOptions = {}): McpRoute {
  const maxRequestBodySize = options.maxRequestBodySize ?? DEFAULT_MAX_REQUEST_BODY_SIZE;
  const hub = createSubscriptionHub({ onerror: options.onerror });
  const modern = createMcpHandler(
    async (ctx) => {
      const server = await factory(ctx);
      // listen filters naming resource URIs are honoured only when `resources.subscribe` is declared.
      advertiseResourceSubscriptions(server);
      return server;
    },
    { legacy: 'reject', maxRequestBodySize, onerror: options.onerror },
  );
  const legacy = createLegacySessions(factory, {
    hub,
    maxRequestBodySize,
    sessionIdleMs: options.sessionIdleMs ?? 30 * 60_000,
    orphanIdleMs: options.orphanIdleMs ?? 2 * 60_000,
    maxSessions: options.maxSessions ?? 1000,
    onerror: options.onerror,
  });

  const isLegacy = async (request: Request, parsedBody: unknown): Promise<boolean | Response> => {
    try {
      return await isLegacyRequest(request, parsedBody, { maxRequestBodySize });
    } catch {
      // Only when the body was already consumed and no parsed copy came with it.
      return jsonRpcErrorResponse(400, -32700, 'Parse error: the request body could not be read');
    }
  };

  return {
    async fetch(request, requestOptions = {}) {
      // isLegacyRequest classifies only; hand-wired compositions check the media type themselves.
      if (request.method === 'POST' && !isJsonContentType(request.headers.get('content-type'))) {
        return jsonRpcErrorResponse(415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
      }
      const route = await isLegacy(request, requestOptions.parsedBody);
      if (route instanceof Response) return route;
      const { principal: _stateless, ...modernOptions } = requestOptions;
      return route ? legacy.fetch(request, requestOptions) : modern.fetch(request, modernOptions);
    },
    resourceUpdated(uri) {
      hub.resourceUpdated(uri);
      modern.notify.resourceUpdated(uri);
    },
    resourcesChanged() {
      hub.resourcesChanged();
      modern.notify.resourcesChanged();
    },
    async close() {
      await legacy.closeAll();
      await modern.close();
    },
  };
}
