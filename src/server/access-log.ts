import type { Context } from 'hono';
import type { Level } from 'pino';
import type { HttpVars } from './http-vars.js';

/**
 * The routes surfaces and producers call per render or per batch: their access lines are debug, so
 * the default (info) log keeps what an operator reads — writes, refusals, tool calls, ramp decisions.
 */
export function isServingPath(method: string, path: string): boolean {
  if (path.startsWith('/ofrep/')) return true;
  if (method === 'POST') return path === '/v1/events';
  return method === 'GET' && path.startsWith('/v1/surfaces/') && (path.endsWith('/assignment') || path.endsWith('/layout'));
}

/** Why a request was refused, from its answer: problem JSON, OFREP's error shape, JSON-RPC, or an OAuth challenge. */
export interface RefusalReason {
  code?: string;
  reason?: string;
}

/** The level of an access line: 5xx error, 4xx warn (a refusal an operator may have to explain), serving debug, the rest info. */
export function accessLevel(status: number, serving: boolean): Level {
  if (status >= 500) return 'error';
  if (status >= 400) return 'warn';
  return serving ? 'debug' : 'info';
}

/** Reads the code and reason from an error answer's JSON body (4xx/5xx only: small, never a stream). */
export function refusalOf(body: unknown): RefusalReason {
  if (typeof body !== 'object' || body === null) return {};
  const b = body as { code?: unknown; detail?: unknown; errorCode?: unknown; errorDetails?: unknown; error?: unknown; error_description?: unknown };
  const rpc = typeof b.error === 'object' && b.error !== null ? (b.error as { code?: unknown; message?: unknown; data?: { code?: unknown } }) : undefined;
  const code = b.code ?? b.errorCode ?? rpc?.data?.code ?? rpc?.code ?? b.error;
  const reason = b.detail ?? b.errorDetails ?? rpc?.message ?? b.error_description;
  return { ...(code !== undefined ? { code: String(code) } : {}), ...(typeof reason === 'string' ? { reason } : {}) };
}

/** Writes the request's one access line, at the level its status and route call for (accessLevel). */
export async function logAccess(c: Context<{ Variables: HttpVars }>, started: number): Promise<void> {
  const log = c.get('log');
  const status = c.res.status;
  const level = accessLevel(status, isServingPath(c.req.method, c.req.path));
  if (!log.isLevelEnabled(level)) return;
  const line = { method: c.req.method, path: c.req.path, status, ms: Math.round(performance.now() - started) };
  if (status < 400) return log[level](line, 'http');
  log[level]({ ...line, ...(await refusalFromResponse(c.res)), principal: c.get('principal') }, status >= 500 ? 'http failed' : 'http refused');
}

async function refusalFromResponse(res: Response): Promise<RefusalReason> {
  const challenge = res.headers.get('www-authenticate') ?? undefined;
  let body: unknown;
  if (/json/.test(res.headers.get('content-type') ?? ''))
    body = await res
      .clone()
      .json()
      .catch(() => undefined);
  const found = refusalOf(body);
  return { ...found, ...(found.reason === undefined && challenge ? { reason: challenge } : {}) };
}
