import {
  context,
  diag,
  DiagLogLevel,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Link,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Context as HonoContext, Next } from 'hono';
import { SERVER_VERSION } from '../version.js';
import type { Logger } from '../logger.js';

/**
 * OpenTelemetry tracing, off by default. While off, `tracer` is undefined and every hook below is a
 * single check of it: no span objects, no context switches, no headers added. The OFREP fast path has
 * no hook at all.
 */
let tracer: Tracer | undefined;

export interface TracingOptions {
  /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces (config.ts derives it from the OTEL_* variables). */
  url: string;
  serviceName: string;
  /** Where the SDK's own warnings go (a collector that refuses or cannot be reached): warn lines on stderr. */
  logger?: Logger;
}

export interface Tracing {
  /** Exports every span ended so far (tests; shutdown). */
  forceFlush(): Promise<void>;
  /** Flushes, then turns tracing off again. */
  shutdown(): Promise<void>;
}

/** True while spans are recorded. */
export const tracingOn = (): boolean => tracer !== undefined;

/**
 * Registers the process-wide tracer provider (OTel keeps one per process): a batch processor in front
 * of the OTLP/HTTP exporter (JSON), W3C trace context as the only propagator, async-local context.
 */
export function startTracing(o: TracingOptions): Tracing {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: o.serviceName, [ATTR_SERVICE_VERSION]: SERVER_VERSION }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: o.url }))],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  const log = o.logger;
  if (log) {
    const warn = (message: string, ...args: unknown[]) => log.warn({ otel: args.map(String).join(' ').slice(0, 500) }, `opentelemetry: ${message}`);
    const none = () => undefined;
    diag.setLogger({ error: warn, warn, info: none, debug: none, verbose: none }, DiagLogLevel.WARN);
  }
  tracer = provider.getTracer('sealab', SERVER_VERSION);
  return {
    forceFlush: () => provider.forceFlush(),
    shutdown: async () => {
      tracer = undefined;
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
      diag.disable();
    },
  };
}

/** Runs fn inside a span (child of the active one); ends it with the error type of what fn threw. */
async function inSpan<T>(
  t: Tracer,
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  parent = context.active(),
  links?: Link[],
): Promise<T> {
  const span = t.startSpan(name, { kind, attributes, ...(links?.length ? { links } : {}) }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    failed(span, errorType(err), err);
    throw err;
  } finally {
    span.end();
  }
}

function failed(span: Span, type: string, err?: unknown): void {
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, ...(err instanceof Error ? { message: err.message } : {}) });
}

/** An AppError's code (UPSTREAM_UNAVAILABLE...), else the error's class name. */
const errorType = (err: unknown): string => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : '_OTHER';
};

const headerGetter: TextMapGetter<Headers> = {
  get: (h, key) => h.get(key) ?? undefined,
  keys: (h) => [...h.keys()],
};
const headerSetter: TextMapSetter<Headers> = { set: (h, key, value) => h.set(key, value) };

const SYSTEM_CONTRACT = /^\/v1\/(backend|content-delivery)(\/|$)/;

/**
 * One server span per HTTP request the hono app serves (REST, /mcp, OFREP through hono), continuing
 * the caller's W3C `traceparent`/`tracestate` headers; a system-contract request without them (a
 * gateway's sync poll) is not traced. Mounted only while tracing is on, so an app built with tracing
 * off pays nothing.
 */
export function traceHttp(app: { use(path: string, handler: (c: HonoContext, next: Next) => Promise<void>): unknown }): void {
  const t = tracer;
  if (!t) return;
  app.use('*', async (c, next) => {
    const parent = propagation.extract(ROOT_CONTEXT, c.req.raw.headers, headerGetter);
    // Only gateways call the system contracts: their traced calls carry a traceparent, the rest is the once-a-second sync poll.
    if (!trace.getSpanContext(parent) && SYSTEM_CONTRACT.test(c.req.path)) return next();
    const method = c.req.method;
    const attributes = { 'http.request.method': method, 'url.path': c.req.path, 'url.scheme': c.req.url.startsWith('https:') ? 'https' : 'http' };
    await inSpan(
      t,
      method,
      SpanKind.SERVER,
      attributes,
      async (span) => {
        await next();
        const matched = c.req.matchedRoutes.filter((r) => r.path !== '*' && !r.path.endsWith('/*'));
        const route = matched.at(-1)?.path;
        if (route) span.updateName(`${method} ${route}`).setAttribute('http.route', route);
        span.setAttribute('http.response.status_code', c.res.status);
        if (c.res.status >= 500) failed(span, String(c.res.status));
      },
      parent,
    );
  });
}

/** What a tool span reads from the MCP request context (the SDK's ServerContext has these). */
interface ToolRequest {
  sessionId?: string;
  mcpReq: { id: string | number; _meta?: Record<string, unknown> };
}

/**
 * Wraps a tool handler in a `tools/call <name>` server span (OpenTelemetry MCP semantic conventions).
 * Its parent is the W3C context in the request's `_meta` (`traceparent`/`tracestate`, SEP-414) when
 * the client sent one, else the HTTP request's span; a tool result with isError sets `error.type`.
 * Returns the handler itself while tracing is off.
 */
export function traceTool<A, S extends ToolRequest, R>(name: string, handler: (args: A, sctx: S) => Promise<R>): (args: A, sctx: S) => Promise<R> {
  const t = tracer;
  if (!t) return handler;
  return (args, sctx) => {
    const meta = sctx.mcpReq._meta;
    const active = context.active();
    const fromMeta = typeof meta?.traceparent === 'string';
    const parent = fromMeta ? propagation.extract(ROOT_CONTEXT, meta) : active;
    // The HTTP request that carried the call stays reachable from the tool span when _meta names another parent.
    const carrier = fromMeta ? trace.getSpanContext(active) : undefined;
    const attributes: Attributes = {
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': name,
      'gen_ai.operation.name': 'execute_tool',
      'jsonrpc.request.id': String(sctx.mcpReq.id),
      ...(sctx.sessionId ? { 'mcp.session.id': sctx.sessionId } : {}),
    };
    return inSpan(
      t,
      `tools/call ${name}`,
      SpanKind.SERVER,
      attributes,
      async (span) => {
        const out = await handler(args, sctx);
        const r = out as { isError?: boolean; content?: { text?: string }[] } | undefined;
        if (r?.isError) {
          failed(span, 'tool_error');
          const code = /^([A-Z_]+):/.exec(r.content?.[0]?.text ?? '')?.[1];
          if (code) span.setAttribute('sealab.error.code', code);
        }
        return out;
      },
      parent,
      carrier ? [{ context: carrier }] : undefined,
    );
  };
}

/** A span over one saga operation (deploy, stop, pause, ship, revert) across the downstream systems. */
export function traceSaga<T>(op: { id: string; kind: string; experimentId: string }, fn: () => Promise<T>): Promise<T> {
  const t = tracer;
  if (!t) return fn();
  const attributes = { 'sealab.operation.id': op.id, 'sealab.operation.kind': op.kind, 'sealab.experiment.id': op.experimentId };
  return inSpan(t, `saga ${op.kind}`, SpanKind.INTERNAL, attributes, fn);
}

/** A span over one saga step (backend.allocate, content.apply, compensate.backend...). */
export function traceSagaStep<T>(step: string, system: string, fn: () => Promise<T>): Promise<T> {
  const t = tracer;
  if (!t) return fn();
  return inSpan(t, `saga.step ${step}`, SpanKind.INTERNAL, { 'sealab.saga.step': step, 'sealab.system': system }, fn);
}

/**
 * A client span over one call to a remote system (retries included); the request carries its
 * `traceparent` through kyTraceHooks, so the remote sealab's server span is its child. Calls made
 * outside any span (serving's sync poll, exposure batches, recovery on its timer) are not traced:
 * a poll every second would otherwise fill the collector with one-span traces.
 */
export function traceRemoteCall<T>(system: string, method: string, baseUrl: string, path: string, fn: () => Promise<T>): Promise<T> {
  const t = tracer;
  if (!t || !trace.getSpan(context.active())) return fn();
  const u = new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const attributes = {
    'http.request.method': method.toUpperCase(),
    'server.address': u.hostname,
    'server.port': Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
    'url.full': u.href,
    'sealab.system': system,
  };
  return inSpan(t, method.toUpperCase(), SpanKind.CLIENT, attributes, async (span) => {
    try {
      return await fn();
    } catch (err) {
      const status = (err as { response?: { status?: unknown } }).response?.status;
      if (typeof status === 'number') span.setAttribute('http.response.status_code', status);
      throw err;
    }
  });
}

/** ky hooks: each attempt carries the active span's W3C context; the answer's status lands on the client span. */
export const kyTraceHooks = {
  beforeRequest: [
    (request: Request): void => {
      if (tracer) propagation.inject(context.active(), request.headers, headerSetter);
    },
  ],
  afterResponse: [
    (_request: Request, _options: unknown, response: Response): void => {
      if (tracer) trace.getActiveSpan()?.setAttribute('http.response.status_code', response.status);
    },
  ],
};
