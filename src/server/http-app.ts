import { Hono, type Context, type Next } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createMcpHonoApp } from '@modelcontextprotocol/hono';
import { localhostAllowedHostnames, localhostAllowedOrigins, validateHostHeader, validateOriginHeader } from '@modelcontextprotocol/server';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Container } from '../container.js';
import { isLoopback } from '../config.js';
import { AppError, toProblem } from '../errors.js';
import { createMcpRoute, type McpRoute } from './mcp-route.js';
import { createMcpServerFactory } from './mcp-server.js';
import { restRoutes, servingRoutes } from './rest-routes.js';
import { ofrepRoutes } from './ofrep-routes.js';
import { backendRoutes, contentRoutes } from './system-routes.js';
import { openApiDocument } from './openapi.js';
import { urisForExperimentChange } from '../../resources/index.js';
import { SERVER_VERSION } from '../version.js';

export interface HttpOptions {
  host: string;
  allowedHosts?: string[];
  token?: string;
  maxBodyBytes: number;
  /** all (default): gateway and both system contracts; backend or content: that system's contract only. */
  role?: 'all' | 'backend' | 'content';
}

import { principalFor, type HttpVars } from './http-vars.js';

export type { HttpVars };

export interface HttpApp {
  app: Hono<{ Variables: HttpVars }>;
  mcp: McpRoute;
  close(): Promise<void>;
}

const problem = (c: Context, err: unknown) => {
  const p = toProblem(err, c.get('requestId'));
  return c.json(p.body, p.status as 400, { 'content-type': 'application/problem+json' });
};

/**
 * The hono app: /mcp (both protocol eras, mounted from @modelcontextprotocol/hono), /v1 REST over
 * the same services, /healthz. Order per request: request id → DNS-rebinding check → bearer auth →
 * principal → body limit → route, so nothing is parsed for a caller that is refused. The principal
 * (http-vars.ts) is who the request is audited as; no header can choose it.
 */
export function createHttpApp(container: Container, opts: HttpOptions): HttpApp {
  const app = new Hono<{ Variables: HttpVars }>();
  const mcp = createMcpRoute(createMcpServerFactory(container, 'mcp-http'), {
    maxRequestBodySize: opts.maxBodyBytes,
    onerror: (err) => container.logger.warn({ err: err.message }, 'mcp transport error'),
  });
  const unsubscribe = container.onChange((e) => {
    for (const uri of urisForExperimentChange(e)) mcp.resourceUpdated(uri);
    mcp.resourcesChanged();
  });

  app.use('*', async (c, next) => {
    const requestId = requestIdOf(c.req.header('x-request-id'));
    c.set('requestId', requestId);
    c.set('log', container.logger.child({ requestId }));
    const started = performance.now();
    // Set before the handler runs: a header added after the response exists makes hono rebuild it
    // and costs the node adapter its fast path (it halved OFREP throughput).
    c.header('x-request-id', requestId);
    await next();
    c.get('log').info({ method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) }, 'http');
  });

  app.get('/healthz', (c) => {
    container.deps.db.prepare('SELECT 1').get();
    return c.json({ status: 'ok', version: SERVER_VERSION, ...(container.serving.remote ? { serving: container.serving.status } : {}) });
  });
  // Readiness, unlike /healthz: serving current with every process's writes, database writable, remote systems synced.
  app.get('/readyz', (c) => {
    const r = container.readiness();
    return c.json(r, r.ready ? 200 : 503);
  });

  const guard = guards(opts);
  for (const path of ['/mcp', '/v1/*', '/ofrep/*']) app.use(path, guard);
  const role = opts.role ?? 'all';
  if (role === 'all' || role === 'backend') app.route('/v1/backend', backendRoutes(container));
  if (role === 'all' || role === 'content') app.route('/v1/content-delivery', contentRoutes(container));
  // Every role serves assignments from what the systems hold: a backend its allocations, content delivery its layouts.
  app.route('/v1', servingRoutes(container));
  app.route('/ofrep/v1', ofrepRoutes(container));
  if (role !== 'all') {
    app.get('/v1/openapi.json', (c) => c.json(openApiDocument(role)));
    return finish(app, mcp, unsubscribe);
  }

  const mcpApp = createMcpHonoApp({
    host: opts.host,
    ...(opts.allowedHosts?.length ? { allowedHosts: opts.allowedHosts } : {}),
    maxRequestBodySize: opts.maxBodyBytes,
  });
  mcpApp.all('/', (c) => {
    // The principal the guards authenticated; a 2025 session stays bound to the one that opened it.
    const principal = c.get('principal');
    const authInfo = opts.token ? { token: opts.token, clientId: 'bearer', scopes: [] } : undefined;
    return mcp.fetch(c.req.raw, { parsedBody: c.get('parsedBody'), principal, ...(authInfo ? { authInfo } : {}) });
  });
  app.route('/mcp', mcpApp);
  app.route('/v1', restRoutes(container));
  return finish(app, mcp, unsubscribe);
}

function finish(app: Hono<{ Variables: HttpVars }>, mcp: McpRoute, unsubscribe: () => void): HttpApp {
  app.notFound((c) => problem(c, new AppError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`, 'See README.md for the REST routes, or use /mcp.')));
  app.onError((err, c) => {
    if (!(err instanceof AppError)) c.get('log')?.error({ err }, 'unhandled error');
    return problem(c, err);
  });

  return {
    app,
    mcp,
    close: async () => {
      unsubscribe();
      await mcp.close();
    },
  };
}

/**
 * One middleware for every route but /healthz: the shared checks, then the request's principal (set
 * here once, from what the checks authenticated), then hono's bodyLimit for bodies of undeclared size.
 */
function guards(opts: HttpOptions) {
  const guard = requestGuard(opts);
  const principal = principalFor(opts.token);
  const refuse = (c: Context, r: Refusal) => {
    for (const [name, value] of Object.entries(r.headers ?? {})) c.header(name, value);
    return problem(c, r.error);
  };
  const streamed = bodyLimit({ maxSize: guard.maxBodyBytes, onError: (c) => refuse(c, guard.tooLarge) });
  return async (c: Context<{ Variables: HttpVars }>, next: Next) => {
    const h: GuardHeaders = {
      host: c.req.header('host'),
      origin: c.req.header('origin'),
      authorization: c.req.header('authorization'),
      contentLength: c.req.header('content-length'),
      transferEncoding: c.req.header('transfer-encoding'),
    };
    const refused = guard.check(h);
    if (refused) return refuse(c, refused);
    c.set('principal', principal);
    return guard.mustCount(h, c.req.method) ? streamed(c, next) : next();
  };
}

/** The request headers the guards read, as plain values: hono and the node fast path (ofrep-fast-path.ts) pass the same ones. */
export interface GuardHeaders {
  host?: string;
  origin?: string;
  authorization?: string;
  contentLength?: string;
  transferEncoding?: string;
}

/** A refused request: the error to answer as problem JSON, and any header that goes with it. */
export interface Refusal {
  error: AppError;
  headers?: Record<string, string>;
}

/** The guards as pure checks over header values, so every path that serves a guarded route refuses alike. */
export interface RequestGuard {
  /** In order: DNS-rebinding check, bearer auth, declared body size; undefined lets the request on. */
  check(h: GuardHeaders): Refusal | undefined;
  /** True when the body's size is not declared, so it must be counted as it streams in and refused with tooLarge past maxBodyBytes. */
  mustCount(h: GuardHeaders, method: string): boolean;
  maxBodyBytes: number;
  tooLarge: Refusal;
}

/**
 * A declared Content-Length is checked from the header alone, so the hot serving paths never
 * materialise the request stream; chunked bodies are counted as they stream in.
 */
export function requestGuard(opts: HttpOptions): RequestGuard {
  const checks = [rebindingCheck(opts), bearerCheck(opts.token)];
  const maxBodyBytes = opts.maxBodyBytes;
  const tooLarge: Refusal = {
    error: new AppError('PAYLOAD_TOO_LARGE', `request body exceeds ${maxBodyBytes} bytes`, 'Split the batch into smaller requests.'),
  };
  const declared = (h: GuardHeaders) => h.contentLength !== undefined && !h.transferEncoding;
  return {
    check(h) {
      for (const check of checks) {
        const refused = check(h);
        if (refused) return refused;
      }
      return declared(h) && Number(h.contentLength) > maxBodyBytes ? tooLarge : undefined;
    },
    mustCount: (h, method) => !declared(h) && method !== 'GET' && method !== 'HEAD',
    maxBodyBytes,
    tooLarge,
  };
}

/** A caller's x-request-id (bounded), or a fresh one. */
export const requestIdOf = (header: string | undefined) => header?.slice(0, 128) || randomUUID();

/** An error as the HTTP answer outside hono: RFC 9457 problem JSON with the request id, as `problem` answers in hono. */
export function problemAnswer(err: unknown, requestId: string, headers?: Record<string, string>) {
  const p = toProblem(err, requestId);
  return { status: p.status, headers: { 'content-type': 'application/problem+json', ...headers }, body: p.body };
}

/** DNS-rebinding protection: on loopback only local Host and Origin headers pass. */
function rebindingCheck(opts: HttpOptions) {
  const hosts = opts.allowedHosts?.length ? opts.allowedHosts : isLoopback(opts.host) ? localhostAllowedHostnames() : undefined;
  const origins = isLoopback(opts.host) ? localhostAllowedOrigins() : opts.allowedHosts?.length ? opts.allowedHosts : undefined;
  // validateHostHeader parses a URL per call; a server sees few Host values, so their verdicts are kept (at most 64).
  const verdicts = new Map<string | undefined, ReturnType<typeof validateHostHeader>>();
  const checkHost = (value: string | undefined, allowed: string[]) => {
    let verdict = verdicts.get(value);
    if (!verdict) {
      if (verdicts.size >= 64) verdicts.clear();
      verdicts.set(value, (verdict = validateHostHeader(value, allowed)));
    }
    return verdict;
  };
  return (h: GuardHeaders): Refusal | undefined => {
    const host = hosts ? checkHost(h.host, hosts) : { ok: true as const };
    const origin = origins ? validateOriginHeader(h.origin, origins) : { ok: true as const };
    const bad = !host.ok ? host : !origin.ok ? origin : undefined;
    return bad ? { error: new AppError('FORBIDDEN', bad.message, 'Call sealab from a local client, or list the host in SEALAB_ALLOWED_HOSTS.') } : undefined;
  };
}

function bearerCheck(token: string | undefined) {
  const expected = token ? Buffer.from(token) : undefined;
  return (h: GuardHeaders): Refusal | undefined => {
    if (!expected) return undefined;
    const match = /^Bearer\s+(.+)$/i.exec(h.authorization ?? '');
    const given = Buffer.from(match?.[1] ?? '');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return undefined;
    return {
      error: new AppError('UNAUTHORIZED', 'missing or wrong bearer token', 'Send Authorization: Bearer <SEALAB_TOKEN>.'),
      headers: { 'www-authenticate': 'Bearer realm="sealab"' },
    };
  };
}
