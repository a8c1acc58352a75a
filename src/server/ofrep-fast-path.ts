import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Container } from '../container.js';
import { AppError, toAppError } from '../errors.js';
import { problemAnswer, requestIdOf, type GuardHeaders, type Refusal, type RequestGuard } from './http-app.js';
import { answerSingle } from './ofrep-evaluate.js';
import type { Identity } from './http-vars.js';
import { accessLevel, refusalOf } from './access-log.js';
import { recordFastOfrep } from '../ops/metric-hooks.js';

const PREFIX = '/ofrep/v1/evaluate/flags/';
const utf8 = new TextDecoder(); // as the hono adapter decodes a body: a BOM is dropped
const READ: ReadonlyMap<string, keyof GuardHeaders | 'requestId'> = new Map([
  ['host', 'host'],
  ['origin', 'origin'],
  ['authorization', 'authorization'],
  ['content-length', 'contentLength'],
  ['transfer-encoding', 'transferEncoding'],
  ['x-request-id', 'requestId'],
]);

/**
 * A node request listener that answers single-flag OFREP evaluations itself and hands every other
 * request to `next` (hono): the hot serving path skips the web Request/Response shims, middleware
 * and routing, which cost more than the evaluation. It applies the same guards (RequestGuard),
 * request id, evaluation (ofrep-evaluate.ts), answers and log line as the hono route.
 */
export function ofrepFastPath(app: Container, guard: RequestGuard, next: RequestListener): RequestListener {
  return (req, res) => {
    const key = singleFlagKey(req.method, req.url);
    if (key === undefined) next(req, res);
    else new Exchange(app, guard, key, req, res).start();
  };
}

/**
 * The flag key of `POST /ofrep/v1/evaluate/flags/{key}` or `.../{surface}/{slot}`, decoded as hono's
 * router decodes path parameters; undefined for anything else, including shapes hono would treat
 * specially (empty segments, a fragment, a malformed escape), so those keep hono's answer.
 */
export function singleFlagKey(method: string | undefined, url: string | undefined): string | undefined {
  if (method !== 'POST' || !url?.startsWith(PREFIX)) return undefined;
  const query = url.indexOf('?', PREFIX.length);
  const rest = url.slice(PREFIX.length, query < 0 ? undefined : query);
  if (plainSegment.test(rest)) return rest; // the usual flag key: one segment, nothing to decode
  const segments = rest.split('/');
  if (segments.length > 2 || segments.some((s) => s === '' || s.includes('#'))) return undefined;
  try {
    return segments.map(decodeURIComponent).join('/');
  } catch {
    return undefined;
  }
}

/** One non-empty path segment without escapes or a fragment: decodeURIComponent would return it as it is. */
const plainSegment = /^[^/%#]+$/;

const EXCHANGE = Symbol('ofrep exchange');
type ExchangeRequest = IncomingMessage & { [EXCHANGE]: Exchange };

// Listeners shared by every request (`this` is the request), not closures made per request.
function onData(this: ExchangeRequest, chunk: Buffer) {
  this[EXCHANGE].data(chunk);
}
function onEnd(this: ExchangeRequest) {
  this[EXCHANGE].end();
}
function onError() {
  // The client went away mid-body: there is no one to answer.
}
const readWhole = (exchange: Exchange) => exchange.whole();

/** A body as the hono adapter decodes it (TextDecoder: a leading BOM is dropped). */
const decodeBody = (body: Buffer) => utf8.decode(body);

/** One evaluation request: guards, then the body, then the answer and its log line. */
class Exchange {
  private readonly started = performance.now();
  private readonly headers: GuardHeaders & { requestId?: string };
  private readonly requestId: string;
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly app: Container,
    private readonly guard: RequestGuard,
    private readonly key: string,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    this.headers = headersOf(req);
    this.requestId = requestIdOf(this.headers.requestId);
  }

  start(): void {
    // The evaluate route's scope (read), as the hono route is checked; the path needs no query or decoding for that.
    const who = this.guard.check(this.headers, 'POST', '/ofrep/v1/evaluate/flags/x');
    // An OAuth token seen for the first time is verified asynchronously; the body waits unread (paused) meanwhile.
    if (who instanceof Promise)
      return void who.then(
        (w) => this.admit(w),
        (err: unknown) => this.refuse({ error: toAppError(err) }),
      );
    this.admit(who);
  }

  private admit(who: Refusal | Identity): void {
    if ('error' in who) return this.refuse(who);
    (this.req as ExchangeRequest)[EXCHANGE] = this;
    // The listener runs as the headers are parsed. A body in the same read is parsed after it returns, in
    // callbacks of their own (the tick queue runs between them), so it is complete by the check phase.
    setImmediate(readWhole, this);
  }

  /**
   * The body when the parser already has all of it (the usual case: a small body in the packet with the
   * headers), read from the request's buffer in one call instead of through flowing-mode data and end
   * events; otherwise streamed as it comes, counted against the limit.
   */
  whole(): void {
    if (!this.req.complete) return void this.req.on('data', onData).on('end', onEnd).on('error', onError);
    const body = this.req.read() as Buffer | null;
    if (body === null) return this.answer('');
    // A chunked body (its size undeclared) past the limit, refused as the stream would have refused it.
    if (body.length > this.guard.maxBodyBytes) return this.refuse(this.guard.tooLarge(PREFIX));
    this.answer(decodeBody(body));
  }

  data(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size <= this.guard.maxBodyBytes) return void this.chunks.push(chunk);
    // A body of undeclared size past the limit (a declared one is refused before it is read).
    this.chunks = [];
    this.req.off('data', onData).off('end', onEnd);
    this.refuse(this.guard.tooLarge(PREFIX));
  }

  end(): void {
    this.answer(decodeBody(this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks)));
  }

  private answer(body: string): void {
    let answer: ReturnType<typeof answerSingle>;
    try {
      answer = answerSingle(this.app, this.key, body);
    } catch (err) {
      if (!(err instanceof AppError)) this.app.logger.error({ err, requestId: this.requestId }, 'unhandled error'); // as hono's onError
      const a = problemAnswer(err, this.requestId);
      return this.send(a.status, JSON.stringify(a.body), a.body, a.headers);
    }
    this.send(answer.status, answer.text);
  }

  /** A refused body is not read: the connection closes after the answer rather than drain it. */
  private refuse(r: Refusal): void {
    const a = problemAnswer(r.error, this.requestId, r.headers);
    this.send(a.status, JSON.stringify(a.body), a.body, { ...a.headers, connection: 'close' });
  }

  /** `body`, when given, is what `text` serialises: the refusal's log line reads its code and reason (else parsed back). */
  private send(status: number, text: string, body?: unknown, headers?: Record<string, string>): void {
    if (headers) for (const name in headers) this.res.setHeader(name, headers[name]);
    this.res.writeHead(status, {
      'content-type': headers?.['content-type'] ?? 'application/json',
      'x-request-id': this.requestId,
      'content-length': Buffer.byteLength(text),
    });
    this.res.end(text);
    recordFastOfrep(this.app.opsMetrics, status, this.started);
    // The access line hono's middleware writes (access-log.ts): debug for answers, warn with the reason for refusals.
    const level = accessLevel(status, true);
    if (!this.app.logger.isLevelEnabled(level)) return;
    const line = { requestId: this.requestId, method: 'POST', path: this.req.url!.split('?', 1)[0], status, ms: Math.round(performance.now() - this.started) };
    if (status < 400) this.app.logger[level](line, 'http');
    else this.app.logger[level]({ ...line, ...refusalOf(body ?? JSON.parse(text)) }, status >= 500 ? 'http failed' : 'http refused');
  }
}

/** The headers the guards and the request id read, as the hono adapter reads them: a repeated header's values joined with ', '. */
function headersOf(req: IncomingMessage): GuardHeaders & { requestId?: string } {
  const h: GuardHeaders & { requestId?: string } = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const field = READ.get(raw[i].toLowerCase());
    if (field) h[field] = h[field] === undefined ? raw[i + 1] : `${h[field]}, ${raw[i + 1]}`;
  }
  return h;
}
