import type { Logger } from '../logger.js';

/**
 * Per-request variables the hono app sets before any route runs: request id, child logger, and the
 * principal the auth middleware authenticated (set once, never from a header a caller chooses).
 */
export type HttpVars = { requestId: string; log: Logger; principal: string };

declare module 'hono' {
  /** Also for apps typed without HttpVars, such as the MCP mount from @modelcontextprotocol/hono. */
  interface ContextVariableMap {
    principal: string;
  }
}

/** The principal of a request that presented SEALAB_TOKEN: the actor HTTP MCP has always audited (`client:<clientId>`). */
export const BEARER_PRINCIPAL = 'client:bearer';
/** Without SEALAB_TOKEN (loopback only) every caller is this one local principal. */
export const LOCAL_PRINCIPAL = 'local:anonymous';

/** The principal of a request the guards let through. */
export const principalFor = (token: string | undefined) => (token ? BEARER_PRINCIPAL : LOCAL_PRINCIPAL);
