import { randomUUID } from 'node:crypto';
import {
  isInitializeRequest,
  readRequestBody,
  WebStandardStreamableHTTPServerTransport,
  type AuthInfo,
  type McpServerFactory,
} from '@modelcontextprotocol/server';
import type { AnyMcpServer, SubscriptionHub } from './subscriptions.js';

/** Per-request inputs the hono mount hands over (the body its middleware already parsed, who is asking). */
export interface RouteRequestOptions {
  parsedBody?: unknown;
  authInfo?: AuthInfo;
  /**
   * The authenticated principal (http-vars.ts). A 2025 session is bound to the principal that
   * opened it: under any other, its id is answered as unknown. Absent is one principal too.
   */
  principal?: string;
}

export interface LegacySessionsOptions {
  hub: SubscriptionHub;
  maxRequestBodySize: number;
  sessionIdleMs: number;
  /**
   * A session whose GET stream ended (the client went away, or lost its network) and that has had no
   * request and no stream since is closed after this long: a live client reconnects its stream within
   * seconds, a crashed one never does, and its server instance (~150 KB) should not wait sessionIdleMs.
   */
  orphanIdleMs: number;
  maxSessions: number;
  onerror?: (error: Error) => void;
}

/** The sessionful 2025-era leg: one transport and one server instance per `Mcp-Session-Id`. */
export interface LegacySessions {
  fetch(request: Request, options?: RouteRequestOptions): Promise<Response>;
  /** Closes every session (their GET streams end, subscriptions detach). */
  closeAll(): Promise<void>;
  readonly size: number;
}

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  server: AnyMcpServer;
  /** Who opened it; only the same principal may use or DELETE it. */
  principal: string | undefined;
  lastSeen: number;
  /** Open SSE responses; a session holding one is listening, not idle. */
  openStreams: number;
  /** Its GET stream ended and nothing has come from the client since: closed after orphanIdleMs. */
  orphaned: boolean;
}

/** What the SDK transport takes of a request's options (the principal stays with the session map). */
const transportOptions = ({ principal: _principal, ...rest }: RouteRequestOptions) => rest;

/** A JSON-RPC error body with the HTTP status the 2025 transport spec asks for. */
export function jsonRpcErrorResponse(status: number, code: number, message: string): Response {
  return Response.json({ jsonrpc: '2.0', error: { code, message }, id: null }, { status });
}

/**
 * Sessions for 2025-era clients, so that they keep what the stateless fallback loses: the GET
 * stream, `resources/subscribe`, and server-to-client requests such as elicitation.
 */
export function createLegacySessions(factory: McpServerFactory, options: LegacySessionsOptions): LegacySessions {
  const sessions = new Map<string, Session>();
  const report = (error: unknown) => options.onerror?.(error instanceof Error ? error : new Error(String(error)));

  const closeSession = (id: string) => {
    const session = sessions.get(id);
    if (session === undefined) return Promise.resolve();
    sessions.delete(id);
    return session.server.close().catch(report);
  };

  const sweep = () => {
    const now = Date.now();
    for (const [id, session] of sessions) {
      const idleFor = session.openStreams === 0 ? now - session.lastSeen : 0;
      if (idleFor > options.sessionIdleMs || (session.orphaned && idleFor > options.orphanIdleMs)) void closeSession(id);
    }
  };
  const sweeper = setInterval(sweep, Math.min(options.sessionIdleMs, options.orphanIdleMs, 60_000));
  sweeper.unref();

  /** Make room for one more: idle sessions first, then the least recently used. */
  const makeRoom = async () => {
    if (sessions.size < options.maxSessions) return;
    sweep();
    while (sessions.size >= options.maxSessions) {
      let oldest: [string, Session] | undefined;
      for (const entry of sessions) if (oldest === undefined || entry[1].lastSeen < oldest[1].lastSeen) oldest = entry;
      if (oldest === undefined) return;
      await closeSession(oldest[0]);
    }
  };

  const trackStream = (session: Session, response: Response, method: string): Response => {
    if (response.body === null || !response.headers.get('content-type')?.includes('text/event-stream')) return response;
    session.openStreams += 1;
    const listening = method === 'GET';
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    void response.body
      .pipeTo(writable)
      .catch(() => undefined)
      .finally(() => {
        session.openStreams -= 1;
        session.lastSeen = Date.now();
        if (listening) session.orphaned = true;
      });
    return new Response(readable, { status: response.status, headers: response.headers });
  };

  const open = async (request: Request, body: unknown, requestOptions: RouteRequestOptions): Promise<Response> => {
    try {
      return await openSession(request, body, requestOptions);
    } catch (error) {
      report(error);
      return jsonRpcErrorResponse(500, -32603, 'Internal error: could not open a session');
    }
  };

  const openSession = async (request: Request, body: unknown, requestOptions: RouteRequestOptions): Promise<Response> => {
    await makeRoom();
    const server = await factory({ era: 'legacy', requestInfo: request, ...(requestOptions.authInfo && { authInfo: requestOptions.authInfo }) });
    options.hub.attach(server, 'legacy');
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      maxRequestBodySize: options.maxRequestBodySize,
      onsessioninitialized: (id) => {
        sessions.set(id, session);
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    const session: Session = { transport, server, principal: requestOptions.principal, lastSeen: Date.now(), openStreams: 0, orphaned: false };
    transport.onclose = () => {
      if (transport.sessionId !== undefined && sessions.get(transport.sessionId) === session) sessions.delete(transport.sessionId);
    };
    transport.onerror = report;
    await server.connect(transport);
    const response = await transport.handleRequest(request, { ...transportOptions(requestOptions), parsedBody: body });
    if (transport.sessionId === undefined || !sessions.has(transport.sessionId)) {
      // The initialize was refused before a session existed: nothing will ever address this one.
      await server.close().catch(report);
      return response;
    }
    return trackStream(session, response, request.method);
  };

  const readBody = async (request: Request): Promise<{ ok: true; body: unknown } | { ok: false; response: Response }> => {
    const read = await readRequestBody(request.clone(), options.maxRequestBodySize);
    if (read.tooLarge) return { ok: false, response: jsonRpcErrorResponse(413, -32000, 'Payload Too Large') };
    try {
      return { ok: true, body: JSON.parse(read.text) as unknown };
    } catch {
      return { ok: false, response: jsonRpcErrorResponse(400, -32700, 'Parse error: Invalid JSON') };
    }
  };

  const isInitialize = (body: unknown) => (Array.isArray(body) ? body.some(isInitializeRequest) : isInitializeRequest(body));

  let closed = false;
  return {
    async fetch(request, requestOptions = {}) {
      if (closed) return jsonRpcErrorResponse(503, -32000, 'Service Unavailable: the server is shutting down');
      const id = request.headers.get('mcp-session-id');
      if (id !== null) {
        const session = sessions.get(id);
        // Spec (2025-06-18 transports): an unknown or terminated session is answered 404. Another
        // principal's session is unknown to this caller: same answer, and nothing touched.
        if (session === undefined || session.principal !== requestOptions.principal) return jsonRpcErrorResponse(404, -32001, 'Session not found');
        session.lastSeen = Date.now();
        session.orphaned = false;
        return trackStream(session, await session.transport.handleRequest(request, transportOptions(requestOptions)), request.method);
      }
      if (request.method === 'POST') {
        let body = requestOptions.parsedBody;
        if (body === undefined) {
          const read = await readBody(request);
          if (!read.ok) return read.response;
          body = read.body;
        }
        if (isInitialize(body)) return open(request, body, requestOptions);
      }
      return jsonRpcErrorResponse(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    },
    async closeAll() {
      closed = true;
      clearInterval(sweeper);
      await Promise.all([...sessions.keys()].map(closeSession));
    },
    get size() {
      return sessions.size;
    },
  };
}
