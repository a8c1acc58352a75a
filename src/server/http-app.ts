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
import type { Logger } from '../logger.js';

export interface HttpOptions {
  host: string;
  allowedHosts?: string[];
  token?: string;
  maxBodyBytes: number;
  /** all (default): gateway and both system contracts; backend or content: that system's contract only. */
  role?: 'all' | 'backend' | 'content';
}

export type HttpVars = { requestId: string; log: Logger };

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
 * body limit → route, so nothing is parsed for a caller that is refused.
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
    const requestId = c.req.header('x-request-id')?.slice(0, 128) || randomUUID();
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

  const mcpApp = createMcpHonoApp({ host: opts.host, ...(opts.allowedHosts?.length ? { allowedHosts: opts.allowedHosts } : {}), maxRequestBodySize: opts.maxBodyBytes });
  mcpApp.all('/', (c) => {
    const authInfo = opts.token ? { token: opts.token, clientId: 'bearer', scopes: [] } : undefined;
    return mcp.fetch(c.req.raw, { parsedBody: c.get('parsedBody'), ...(authInfo ? { authInfo } : {}) });
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

/** One middleware for every route but /healthz, in order: DNS-rebinding check, bearer auth, body size. */
function guards(opts: HttpOptions) {
  const checks = [rebindingCheck(opts), bearerCheck(opts.token)];
  const size = sizeGuard(opts.maxBodyBytes);
  return async (c: Context, next: Next) => {
    for (const check of checks) {
      const refused = check(c);
      if (refused) return refused;
    }
    return size(c, next);
  };
}

/** DNS-rebinding protection: on loopback only local Host and Origin headers pass. */
function rebindingCheck(opts: HttpOptions) {
  const hosts = opts.allowedHosts?.length ? opts.allowedHosts : isLoopback(opts.host) ? localhostAllowedHostnames() : undefined;
  const origins = isLoopback(opts.host) ? localhostAllowedOrigins() : opts.allowedHosts?.length ? opts.allowedHosts : undefined;
  return (c: Context) => {
    const host = hosts ? validateHostHeader(c.req.header('host'), hosts) : { ok: true as const };
    const origin = origins ? validateOriginHeader(c.req.header('origin'), origins) : { ok: true as const };
    const bad = !host.ok ? host : !origin.ok ? origin : undefined;
    return bad ? problem(c, new AppError('FORBIDDEN', bad.message, 'Call sealab from a local client, or list the host in SEALAB_ALLOWED_HOSTS.')) : undefined;
  };
}

/**
 * 413 for bodies over the limit. A declared Content-Length is checked from the header alone, so
 * the hot serving paths never materialise the request stream; chunked bodies are counted by
 * hono's bodyLimit as they stream in.
 */
function sizeGuard(maxSize: number) {
  const tooLarge = (c: Context) => problem(c, new AppError('PAYLOAD_TOO_LARGE', `request body exceeds ${maxSize} bytes`, 'Split the batch into smaller requests.'));
  const streamed = bodyLimit({ maxSize, onError: tooLarge });
  return async (c: Context, next: Next) => {
    const declared = c.req.header('content-length');
    if (declared !== undefined && !c.req.header('transfer-encoding')) return Number(declared) > maxSize ? tooLarge(c) : next();
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    return streamed(c, next);
  };
}

function bearerCheck(token: string | undefined) {
  const expected = token ? Buffer.from(token) : undefined;
  return (c: Context) => {
    if (!expected) return undefined;
    const match = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
    const given = Buffer.from(match?.[1] ?? '');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return undefined;
    c.header('www-authenticate', 'Bearer realm="sealab"');
    return problem(c, new AppError('UNAUTHORIZED', 'missing or wrong bearer token', 'Send Authorization: Bearer <SEALAB_TOKEN>.'));
  };
}
