import type { MiddlewareHandler } from 'hono';
import { isJsonContentType, readRequestBody } from '@modelcontextprotocol/server';
import { AppError } from '../errors.js';
import type { HttpVars } from './http-vars.js';

/** JSON-RPC 2.0 error codes sealab answers on /mcp itself (the SDK answers the rest). */
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;

/** A JSON-RPC error response with no id (the request's id is unknown when its body is refused). */
export function jsonRpcError(status: number, code: number, message: string, data?: Record<string, unknown>): Response {
  return Response.json({ jsonrpc: '2.0', id: null, error: { code, message, ...(data ? { data } : {}) } }, { status });
}

/**
 * What a body over the limit means on each route, so a caller reads a fix that applies to it
 * (a batch split for events, smaller messages for MCP), not another route's advice.
 */
export function tooLargeError(path: string, maxBodyBytes: number): AppError {
  const message = `request body exceeds ${maxBodyBytes} bytes`;
  const limit = `The limit is SEALAB_MAX_BODY_BYTES (${maxBodyBytes}).`;
  if (path === '/mcp' || path.startsWith('/mcp/'))
    return new AppError(
      'PAYLOAD_TOO_LARGE',
      message,
      `Send smaller JSON-RPC messages: one call per request instead of a batch, and large inputs by reference (an experiment id, not the whole record). ${limit}`,
    );
  if (path === '/v1/events') return new AppError('PAYLOAD_TOO_LARGE', message, `Split the batch into smaller requests. ${limit}`);
  if (path.startsWith('/ofrep/'))
    return new AppError(
      'PAYLOAD_TOO_LARGE',
      message,
      `An OFREP request needs only the evaluation context (targetingKey, platform): drop the other attributes. ${limit}`,
    );
  if (path.startsWith('/v1/backend/') || path.startsWith('/v1/content-delivery/'))
    return new AppError('PAYLOAD_TOO_LARGE', message, `Raise SEALAB_MAX_BODY_BYTES on this system to at least the gateway's limit. ${limit}`);
  return new AppError('PAYLOAD_TOO_LARGE', message, `Send a smaller body: an experiment config or a patch of a few operations fits easily. ${limit}`);
}

/** A refused /mcp body as JSON-RPC (what an MCP client parses), with the typed error in `data`. */
export function mcpRefusal(err: AppError, status: number, requestId?: string): Response {
  return jsonRpcError(status, INVALID_REQUEST, `${err.message}`, { code: err.code, hint: err.hint, ...(requestId ? { requestId } : {}) });
}

/**
 * Parses the JSON body of a POST to /mcp, bounded by `maxBodyBytes`. GET (the notification stream)
 * and DELETE (session end) are never read, whatever their Content-Type says: the Python SDK sends
 * `content-type: application/json` on both with no body. Malformed JSON is a JSON-RPC parse error
 * (-32700) and a body over the limit a JSON-RPC error with the MCP hint, never plain text.
 * Replaces the body parser of @modelcontextprotocol/hono's app, which ran on every method.
 */
export function mcpJsonBody(maxBodyBytes: number): MiddlewareHandler<{ Variables: HttpVars }> {
  return async (c, next) => {
    if (c.req.method !== 'POST' || !isJsonContentType(c.req.header('content-type'))) return next();
    const read = await readRequestBody(c.req.raw.clone(), maxBodyBytes);
    if (read.tooLarge) return mcpRefusal(tooLargeError(c.req.path, maxBodyBytes), 413, c.get('requestId'));
    try {
      c.set('parsedBody', JSON.parse(read.text));
    } catch {
      return jsonRpcError(400, PARSE_ERROR, 'Parse error: the request body is not valid JSON', {
        hint: 'Send one JSON-RPC 2.0 message (or a batch array) as the body, encoded as UTF-8 JSON.',
      });
    }
    return next();
  };
}
