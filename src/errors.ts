import { didYouMean, nearest } from './domain/suggest.js';

/** Expected failures are values with a code, a message and a hint an agent can act on. */
export type ErrorCode =
  | 'INVALID_INPUT'
  | 'INVALID_CONFIG'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PRECONDITION_FAILED'
  | 'CATALOG_CHANGE_UNSAFE'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'INSUFFICIENT_SCOPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UPSTREAM_UNAVAILABLE'
  | 'INTERNAL';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** NOT_FOUND for `id`; given the ids that do exist, the nearest ones lead the hint and are listed in details.suggestions. */
export function notFound(what: string, id: string, hint: string, known?: Iterable<string>): AppError {
  const suggestions = known ? nearest(id, known) : [];
  return suggestions.length
    ? new AppError('NOT_FOUND', `${what} '${id}' does not exist`, `${didYouMean(suggestions)} ${hint}`, { suggestions })
    : new AppError('NOT_FOUND', `${what} '${id}' does not exist`, hint);
}

const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_INPUT: 400,
  INVALID_CONFIG: 422,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  CATALOG_CHANGE_UNSAFE: 409,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  INSUFFICIENT_SCOPE: 403,
  PAYLOAD_TOO_LARGE: 413,
  UPSTREAM_UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** Unknown throwables are bugs: they become INTERNAL with no stack or message leaked. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('INTERNAL', 'sealab hit an internal error', 'Retry once; if it persists, report it with the request id from the server log.');
}

/** MCP boundary: an isError tool result whose text ends with what to do next. */
export function toToolError(err: unknown) {
  const e = toAppError(err);
  const details = e.details ? `\nDetails: ${JSON.stringify(e.details)}` : '';
  return {
    isError: true as const,
    content: [{ type: 'text' as const, text: `${e.code}: ${e.message}${details}\nNext: ${e.hint}` }],
  };
}

/** HTTP boundary: RFC 9457 problem JSON; an error that says when to retry (`details.retryAfterSeconds`) sets Retry-After too. */
export function toProblem(err: unknown, requestId?: string) {
  const e = toAppError(err);
  const retryAfter = e.details?.retryAfterSeconds;
  return {
    status: HTTP_STATUS[e.code],
    headers: (typeof retryAfter === 'number' ? { 'retry-after': String(Math.max(1, Math.ceil(retryAfter))) } : {}) as Record<string, string>,
    body: {
      type: `https://sealab.dev/problems/${e.code.toLowerCase().replace(/_/g, '-')}`,
      title: e.code,
      status: HTTP_STATUS[e.code],
      detail: e.message,
      hint: e.hint,
      code: e.code,
      ...(e.details ? { details: e.details } : {}),
      ...(requestId ? { requestId } : {}),
    },
  };
}
