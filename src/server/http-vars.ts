import type { Logger } from '../logger.js';

/** Per-request variables the hono app sets before any route runs (request id, child logger). */
export type HttpVars = { requestId: string; log: Logger };
