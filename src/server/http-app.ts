import { Hono, type Context, type Next } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import {
  bearerAuthChallengeResponse,
  localhostAllowedHostnames,
  localhostAllowedOrigins,
  OAuthError,
  OAuthErrorCode,
  validateHostHeader,
  validateOriginHeader,
} from '@modelcontextprotocol/server';
import { randomUUID } from 'node:crypto';
import type { Container } from '../container.js';
import { isLoopback } from '../config.js';
import { AppError, toProblem } from '../errors.js';
import { createMcpRoute, type McpRoute } from './mcp-route.js';
import { mcpJsonBody, mcpRefusal, tooLargeError } from './mcp-body.js';
import { logAccess } from './access-log.js';
import { traceHttp } from '../ops/tracing.js';
import { createMcpServerFactory } from './mcp-server.js';
import type { ToolSelection } from '../mcp/toolsets.js';
import { restRoutes, servingRoutes } from './rest-routes.js';
import { ofrepRoutes } from './ofrep-routes.js';
import { backendRoutes, contentRoutes } from './system-routes.js';
import { openApiDocument } from './openapi.js';
import { urisForChange } from '../../resources/index.js';
import { SERVER_VERSION } from '../version.js';

export interface HttpOptions {
  host: string;
  allowedHosts?: string[];
  token?: string;
  /** Named tokens (`sealab token create`); once this file exists every request must present a token. */
  tokensFile?: string;
  /** `--read-only`: every principal is capped at the read scope. */
  readOnly?: boolean;
  /** `--tools` / `--toolsets`: the MCP tools listed (default the core toolset). */
  tools?: ToolSelection;
  maxBodyBytes: number;
  /** all (default): gateway and both system contracts; backend or content: that system's contract only. */
  role?: 'all' | 'backend' | 'content';
  /** OAuth 2.1 resource server (SEALAB_OAUTH_ISSUER): JWT access tokens from that issuer, for this resource. */
  oauth?: OAuthOptions;
}

import { LOCAL_IDENTITY, type GuardHeaders, type HttpVars, type Identity, type Refusal } from './http-vars.js';
import { hasScope, routeScope, toolScope, type Scope } from '../domain/scopes.js';
import { bearerCheck, scopeChallenge } from './authenticate.js';
import { oauthResource, type OAuthOptions, type OAuthResource } from './oauth-resource.js';
import { tools } from '../../tools/index.js';
import { recordHttp } from '../ops/metric-hooks.js';
import { metricsAnswer } from './metrics-answer.js';
import { uiRoutes } from './ui-routes.js';
import { sessionAuthorization } from './ui-session.js';

export type { GuardHeaders, HttpVars, Refusal };

export interface HttpApp {
  app: Hono<{ Variables: HttpVars }>;
  mcp: McpRoute;
  /** The checks every guarded route runs, shared with the node fast path (one JWKS cache, one tokens-file reader). */
  guard: RequestGuard;
  close(): Promise<void>;
}

const problem = (c: Context, err: unknown) => {
  const p = toProblem(err, c.get('requestId'));
  return c.json(p.body, p.status as 400, { 'content-type': 'application/problem+json', ...p.headers });
};

/**
 * The hono app: /mcp (both protocol eras, mcp-route.ts), /v1 REST over
 * the same services, /healthz. Order per request: request id → DNS-rebinding check → bearer auth →
 * principal → body limit → route, so nothing is parsed for a caller that is refused. The principal
 * (http-vars.ts) is who the request is audited as; no header can choose it.
 */
export function createHttpApp(container: Container, opts: HttpOptions): HttpApp {
  const app = new Hono<{ Variables: HttpVars }>();
  const mcp = createMcpRoute(createMcpServerFactory(container, 'mcp-http', { ...(opts.readOnly ? { scopes: ['read'] } : {}), tools: opts.tools }), {
    maxRequestBodySize: opts.maxBodyBytes,
    onerror: (err) => container.logger.warn({ err: err.message }, 'mcp transport error'),
  });
  const announce = (uris: string[]) => {
    for (const uri of uris) mcp.resourceUpdated(uri);
  };
  const unsubscribe = container.onChange((e) => {
    // A catalog change names every surface's resource: their ids come from the async store.
    if (e.kind === 'catalog')
      container.deps.store.catalog.ids('surfaces').then(
        (ids) => announce(urisForChange(e, () => ids)),
        (err: unknown) => container.logger.warn({ err }, 'could not list the surfaces to announce a catalog change'),
      );
    else announce(urisForChange(e, () => []));
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
    await logAccess(c, started);
    recordHttp(container.opsMetrics, c.req.routePath, c.req.method, c.res.status, started);
  });
  traceHttp(app);

  app.get('/healthz', async (c) => {
    await container.healthProbe();
    return c.json({ status: 'ok', version: SERVER_VERSION, ...(container.serving.remote ? { serving: container.serving.status } : {}) });
  });
  // Readiness, unlike /healthz: serving current with every process's writes, database writable, remote systems synced.
  app.get('/readyz', (c) => {
    const r = container.readiness();
    return c.json(r, r.ready ? 200 : 503);
  });

  const guard = requestGuard(opts);
  const oauth = guard.oauth;
  // RFC 9728: how a client finds the authorization server, before it has a token (so served without auth).
  if (oauth) for (const path of oauth.metadataPaths) app.get(path, (c) => c.json(oauth.metadata(), 200, { 'access-control-allow-origin': '*' }));
  const middleware = guards(guard);
  for (const path of ['/mcp', '/v1/*', '/ofrep/*', '/metrics']) app.use(path, middleware);
  app.get('/metrics', async (c) => {
    const a = await metricsAnswer(container);
    return c.body(a.body, 200, a.headers);
  });
  const role = opts.role ?? 'all';
  if (role === 'all' || role === 'backend') app.route('/v1/backend', backendRoutes(container));
  if (role === 'all' || role === 'content') app.route('/v1/content-delivery', contentRoutes(container));
  // Every role serves assignments from what the systems hold: a backend its allocations, content delivery its layouts.
  app.route('/v1', servingRoutes(container));
  app.route('/ofrep/v1', ofrepRoutes(container));
  if (role !== 'all') {
    app.get('/v1/openapi.json', (c) => c.json(openApiDocument(role)));
    return finish(app, mcp, guard, unsubscribe);
  }

  // Host and Origin were checked by the guards; the body parser reads POSTs only (mcp-body.ts).
  const mcpApp = new Hono<{ Variables: HttpVars }>();
  mcpApp.use('*', mcpJsonBody(opts.maxBodyBytes));
  mcpApp.all('/', (c) => {
    // The principal the guards authenticated; a 2025 session stays bound to the one that opened it.
    const principal = c.get('principal');
    const scopes = c.get('scopes');
    const refused = toolScopeChallenge(c.get('parsedBody'), scopes, oauth);
    if (refused) return refused;
    // The factory lists only the tools these scopes allow (mcp-server.ts); the local principal keeps its client-named actor.
    const authInfo =
      principal === LOCAL_IDENTITY.principal && scopes.length === LOCAL_IDENTITY.scopes.length
        ? undefined
        : { token: principal, clientId: principal, scopes: [...scopes], extra: { principal } };
    return mcp.fetch(c.req.raw, { parsedBody: c.get('parsedBody'), principal, ...(authInfo ? { authInfo } : {}) });
  });
  app.route('/mcp', mcpApp);
  app.route('/v1', restRoutes(container));
  // The console: pages behind the same guard, refusals as pages (ui-routes.ts).
  app.route('/ui', uiRoutes(container, guard));
  return finish(app, mcp, guard, unsubscribe);
}

function finish(app: Hono<{ Variables: HttpVars }>, mcp: McpRoute, guard: RequestGuard, unsubscribe: () => void): HttpApp {
  app.notFound((c) => problem(c, new AppError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`, 'See README.md for the REST routes, or use /mcp.')));
  app.onError((err, c) => {
    if (!(err instanceof AppError)) c.get('log')?.error({ err }, 'unhandled error');
    return problem(c, err);
  });

  return {
    app,
    mcp,
    guard,
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
function guards(guard: RequestGuard) {
  const refuse = (c: Context, r: Refusal) => {
    for (const [name, value] of Object.entries(r.headers ?? {})) c.header(name, value);
    // An MCP client parses JSON-RPC: a refused /mcp body is answered in that shape (mcp-body.ts).
    if (r.error.code === 'PAYLOAD_TOO_LARGE' && (c.req.path === '/mcp' || c.req.path.startsWith('/mcp/'))) return mcpRefusal(r.error, 413, c.get('requestId'));
    return problem(c, r.error);
  };
  const streamed = bodyLimit({ maxSize: guard.maxBodyBytes, onError: (c) => refuse(c, guard.tooLarge(c.req.path)) });
  return async (c: Context<{ Variables: HttpVars }>, next: Next) => {
    const h: GuardHeaders = {
      host: c.req.header('host'),
      origin: c.req.header('origin'),
      // The console's session cookie counts as the bearer token for reads of /v1 (ui-session.ts).
      authorization: sessionAuthorization(c),
      contentLength: c.req.header('content-length'),
      transferEncoding: c.req.header('transfer-encoding'),
    };
    let who = guard.check(h, c.req.method, c.req.path);
    if (who instanceof Promise) who = await who;
    if ('error' in who) return refuse(c, who);
    c.set('principal', who.principal);
    c.set('scopes', who.scopes);
    return guard.mustCount(h, c.req.method) ? streamed(c, next) : next();
  };
}

/** The guards as pure checks over header values, so every path that serves a guarded route refuses alike. */
export interface RequestGuard {
  /**
   * In order: DNS-rebinding check, bearer auth, the route's scope (src/domain/scopes.ts), declared body size; the identity lets
   * the request on. A promise only for an OAuth access token not verified before (its keys may have to be fetched).
   */
  check(h: GuardHeaders, method: string, path: string): Refusal | Identity | Promise<Refusal | Identity>;
  /** True when the body's size is not declared, so it must be counted as it streams in and refused with tooLarge past maxBodyBytes. */
  mustCount(h: GuardHeaders, method: string): boolean;
  maxBodyBytes: number;
  /** The refusal of a body over maxBodyBytes on `path`, with that route's hint (mcp-body.ts). */
  tooLarge(path: string): Refusal;
  oauth?: OAuthResource;
}

/**
 * A declared Content-Length is checked from the header alone, so the hot serving paths never
 * materialise the request stream; chunked bodies are counted as they stream in.
 */
export function requestGuard(opts: HttpOptions): RequestGuard {
  const rebinding = rebindingCheck(opts);
  const oauth = opts.oauth ? oauthResource(opts.oauth) : undefined;
  const authenticate = bearerCheck({ ...opts, oauth });
  const maxBodyBytes = opts.maxBodyBytes;
  const tooLarge = (path: string): Refusal => ({ error: tooLargeError(path, maxBodyBytes) });
  const declared = (h: GuardHeaders) => h.contentLength !== undefined && !h.transferEncoding;
  // A route's scope is a scan of the overrides per request; a server sees few (method, path) pairs on its hot routes.
  const scopes = new Map<string, Scope>();
  const scopeOf = (method: string, path: string): Scope => {
    const k = `${method} ${path}`;
    let scope = scopes.get(k);
    if (!scope) {
      if (scopes.size >= 256) scopes.clear();
      scopes.set(k, (scope = routeScope(method, path)));
    }
    return scope;
  };
  const admit = (h: GuardHeaders, method: string, path: string, who: Refusal | Identity): Refusal | Identity => {
    if ('error' in who) return who;
    const needed = scopeOf(method, path);
    if (!hasScope(who.scopes, needed)) return insufficientScope(needed, `${method} ${path}`, who, oauth);
    return declared(h) && Number(h.contentLength) > maxBodyBytes ? tooLarge(path) : who;
  };
  return {
    check(h, method, path) {
      const refused = rebinding(h);
      if (refused) return refused;
      const who = authenticate(h);
      return who instanceof Promise ? who.then((w) => admit(h, method, path, w)) : admit(h, method, path, who);
    },
    mustCount: (h, method) => !declared(h) && method !== 'GET' && method !== 'HEAD',
    maxBodyBytes,
    tooLarge,
    ...(oauth ? { oauth } : {}),
  };
}

/** A caller's x-request-id (bounded), or a fresh one. */
export const requestIdOf = (header: string | undefined) => header?.slice(0, 128) || randomUUID();

/** An error as the HTTP answer outside hono: RFC 9457 problem JSON with the request id, as `problem` answers in hono. */
export function problemAnswer(err: unknown, requestId: string, headers?: Record<string, string>) {
  const p = toProblem(err, requestId);
  return { status: p.status, headers: { 'content-type': 'application/problem+json', ...p.headers, ...headers }, body: p.body };
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

/** 403 naming the scope, with the RFC 6750 challenge the MCP SDK sends for insufficient_scope. */
function insufficientScope(needed: Scope, what: string, who: Identity, oauth?: OAuthResource): Refusal {
  return {
    error: new AppError(
      'INSUFFICIENT_SCOPE',
      `${what} needs the '${needed}' scope; ${who.principal} has ${who.scopes.length ? who.scopes.join(', ') : 'none'}`,
      oauth && who.principal.startsWith('oauth:')
        ? oauth.scopeHint(needed)
        : `Use a token with the '${needed}' scope (\`sealab token create --scopes ${needed}\`), or ask its owner to make this call.`,
      { needed, granted: [...who.scopes] },
    ),
    headers: { 'www-authenticate': scopeChallenge(needed, oauth) },
  };
}

/**
 * A tools/call (alone or in a batch) for a tool these scopes do not allow: the SDK's scope
 * challenge (403 insufficient_scope naming the scope). Such tools are also left out of tools/list.
 */
function toolScopeChallenge(parsedBody: unknown, scopes: readonly Scope[], oauth?: OAuthResource): Response | undefined {
  for (const message of Array.isArray(parsedBody) ? parsedBody : [parsedBody]) {
    const m = message as { method?: unknown; params?: { name?: unknown } } | null;
    if (m?.method !== 'tools/call' || typeof m.params?.name !== 'string') continue;
    const tool = tools.find((t) => t.name === m.params?.name);
    if (!tool) continue;
    const needed = toolScope(tool);
    if (!hasScope(scopes, needed)) {
      return bearerAuthChallengeResponse(new OAuthError(OAuthErrorCode.InsufficientScope, `${tool.name} needs the ${needed} scope`), {
        requiredScopes: [oauth ? oauth.tokenScope(needed) : needed],
        ...(oauth ? { resourceMetadataUrl: oauth.metadataUrl } : {}),
      });
    }
  }
  return undefined;
}
