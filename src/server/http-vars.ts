import type { Logger } from '../logger.js';
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
