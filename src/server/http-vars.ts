import type { Logger } from '../logger.js';
import type { AppError } from '../errors.js';
import { ALL_SCOPES, type Scope } from '../domain/scopes.js';

/**
 * Per-request variables the hono app sets before any route runs: request id, child logger, and the
 * principal the auth middleware authenticated with its scopes (set once, never from a header a caller chooses).
 */
export type HttpVars = { requestId: string; log: Logger; principal: string; scopes: readonly Scope[] };

declare module 'hono' {
  /** Also for apps typed without HttpVars, such as the MCP mount from @modelcontextprotocol/hono. */
  interface ContextVariableMap {
    principal: string;
    scopes: readonly Scope[];
  }
}

/** Who a request authenticated as, and what it may do (src/domain/scopes.ts). */
export interface Identity {
  principal: string;
  scopes: readonly Scope[];
}

/** The principal of a request that presented SEALAB_TOKEN: the actor HTTP MCP has always audited (`client:<clientId>`). */
export const BEARER_PRINCIPAL = 'client:bearer';
/** Without SEALAB_TOKEN and a tokens file (loopback only) every caller is this one local principal. */
export const LOCAL_PRINCIPAL = 'local:anonymous';
/** The principal of a request that presented the named token `name` (`sealab token create --name`). */
export const tokenPrincipal = (name: string) => `token:${name}`;

export const BEARER_IDENTITY: Identity = { principal: BEARER_PRINCIPAL, scopes: ALL_SCOPES };
export const LOCAL_IDENTITY: Identity = { principal: LOCAL_PRINCIPAL, scopes: ALL_SCOPES };
/** The principal of a request that presented an OAuth access token from SEALAB_OAUTH_ISSUER: its client (`client_id`, `azp`), else its subject. */
export const oauthPrincipal = (clientOrSubject: string) => `oauth:${clientOrSubject}`;

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
