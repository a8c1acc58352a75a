import { createHash } from 'node:crypto';
import ky, { HTTPError, TimeoutError, type KyInstance } from 'ky';
import { z } from 'zod';
import { AppError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../ops/metrics.js';
import { recordRemoteCall } from '../ops/metric-hooks.js';
import { countRetry } from './call-retries.js';
import { kyTraceHooks, traceRemoteCall } from '../ops/tracing.js';
import {
  BackendStateSchema,
  ContentCatalogSchema,
  contentEtag,
  ContentStateSchema,
  type ContentCatalogRead,
  WriteResultSchema,
  type BackendWrite,
  type ContentDelivery,
  type ContentWrite,
  type ExperimentBackend,
} from './contracts.js';

export interface RemoteOptions {
  baseUrl: string;
  timeoutMs: number;
  token?: string;
  logger: Logger;
  metrics?: Metrics;
}

const KEEP: Record<number, ErrorCode> = {
  400: 'INVALID_INPUT',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  412: 'PRECONDITION_FAILED',
  413: 'PAYLOAD_TOO_LARGE',
  422: 'INVALID_CONFIG',
};

/**
 * One HTTP client per remote system. Writes are full-state PUTs carrying (opId, step), so they are
 * idempotent and retried like reads; nothing else is sent. Upstream 4xx keep their meaning, 5xx,
 * timeouts and refused connections become UPSTREAM_UNAVAILABLE; upstream bodies go to the log only.
 */
class RemoteClient {
  private readonly http: KyInstance;

  constructor(
    private readonly system: string,
    private readonly o: RemoteOptions,
    idempotent: ('get' | 'put' | 'post')[] = ['get', 'put'],
  ) {
    this.http = ky.create({
      prefixUrl: o.baseUrl,
      timeout: o.timeoutMs,
      retry: { limit: 2, methods: idempotent, statusCodes: [502, 503, 504], backoffLimit: 200 },
      headers: o.token ? { authorization: `Bearer ${o.token}` } : {},
      hooks: { ...kyTraceHooks, beforeRetry: [countRetry] },
    });
  }

  async call<T extends z.ZodType>(method: 'get' | 'put' | 'post', path: string, schema: T, body?: unknown, notFoundIsNull = false): Promise<z.infer<T> | null> {
    let raw: unknown;
    const started = performance.now();
    try {
      raw = await traceRemoteCall(this.system, method, this.o.baseUrl, path, () =>
        this.http(path, { method, ...(body !== undefined ? { json: body } : {}) }).json(),
      );
      recordRemoteCall(this.o.metrics, this.system, started);
    } catch (err) {
      recordRemoteCall(this.o.metrics, this.system, started, err);
      if (notFoundIsNull && err instanceof HTTPError && err.response.status === 404) return null;
      throw await this.mapError(err, method, path);
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      this.o.logger.warn({ system: this.system, method, path, issues: parsed.error.issues.slice(0, 5) }, 'upstream answered an unexpected shape');
      throw this.unavailable('answered with an unexpected shape');
    }
    return parsed.data;
  }

  /** A conditional GET (If-None-Match): 304 is `notModified`; otherwise the body, parsed with `schema`, and the ETag it came with. */
  async getIfNoneMatch<T extends z.ZodType>(
    path: string,
    schema: T,
    etag?: string,
  ): Promise<{ notModified: true } | { notModified: false; etag: string | null; body: z.infer<T> }> {
    let answer: { etag: string | null; raw: unknown } | null;
    const started = performance.now();
    try {
      answer = await traceRemoteCall(this.system, 'get', this.o.baseUrl, path, async () => {
        const res = await this.http(path, { method: 'get', headers: etag ? { 'if-none-match': etag } : {}, throwHttpErrors: (status) => status !== 304 });
        return res.status === 304 ? null : { etag: res.headers.get('etag'), raw: await res.json().catch(() => undefined) };
      });
      recordRemoteCall(this.o.metrics, this.system, started);
    } catch (err) {
      recordRemoteCall(this.o.metrics, this.system, started, err);
      throw await this.mapError(err, 'get', path);
    }
    if (!answer) return { notModified: true };
    const parsed = schema.safeParse(answer.raw);
    if (!parsed.success) {
      this.o.logger.warn({ system: this.system, method: 'get', path, issues: parsed.error.issues.slice(0, 5) }, 'upstream answered an unexpected shape');
      throw this.unavailable('answered with an unexpected shape');
    }
    return { notModified: false, etag: answer.etag, body: parsed.data };
  }

  private async mapError(err: unknown, method: string, path: string): Promise<AppError> {
    if (err instanceof HTTPError) {
      const status = err.response.status;
      const body = await err.response.text().catch(() => '');
      this.o.logger.warn({ system: this.system, method, path, status, body: body.slice(0, 2000) }, 'upstream refused a request');
      const code = KEEP[status];
      if (code) {
        let detail = '';
        try {
          detail = String((JSON.parse(body) as { detail?: unknown }).detail ?? '');
        } catch {
          /* not problem JSON */
        }
        // A 4xx is the system's refusal: the write was not applied.
        return new AppError(
          code,
          `the ${this.system} refused the request (${status})${detail ? `: ${detail.slice(0, 300)}` : ''}`,
          'Check the experiment against the upstream system, then retry.',
          { system: this.system, status, delivered: false },
        );
      }
      return this.unavailable(`answered ${status}`);
    }
    const why = err instanceof TimeoutError ? `did not answer within ${this.o.timeoutMs} ms` : 'could not be reached';
    this.o.logger.warn({ system: this.system, method, path, err: (err as Error).message }, 'upstream unavailable');
    // A refused connection never delivered the request; a timeout or a reset may have.
    return this.unavailable(why, refused(err) ? false : undefined);
  }

  private unavailable(why: string, delivered?: false): AppError {
    return new AppError(
      'UPSTREAM_UNAVAILABLE',
      `the ${this.system} at ${this.o.baseUrl} ${why}`,
      'Nothing was left half-deployed: retry in a moment (the same idempotency key is safe).',
      { system: this.system, ...(delivered === false ? { delivered } : {}) },
    );
  }
}

const enc = encodeURIComponent;

/** fetch wraps the socket error: ECONNREFUSED means nothing reached the system. */
function refused(err: unknown): boolean {
  for (let e: unknown = err, i = 0; e && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    if ((e as { code?: string }).code === 'ECONNREFUSED') return true;
  }
  return false;
}

const IngestAnswer = z.object({
  accepted: z.number(),
  duplicates: z.number(),
  rejected: z.array(z.object({ index: z.number(), code: z.string(), message: z.string() }).passthrough()),
});

/**
 * Sends exposures recorded by a serving process (backend or content role) to the sealab that owns
 * the experiments, through its public ingest (POST /v1/events). Each exposure's event id is derived
 * from (experiment, unit), so a resent batch counts once.
 */
export function remoteExposureSink(o: RemoteOptions): (batch: { experimentId: string; unitId: string; variant: string; ts: string }[]) => Promise<'sent'> {
  const c = new RemoteClient('event ingest', o, ['get', 'put', 'post']);
  return async (batch) => {
    const events = batch.map((p) => ({
      id: `exp_${createHash('sha1').update(`${p.experimentId}\u0000${p.unitId}`).digest('base64url')}`,
      type: 'exposure',
      experimentId: p.experimentId,
      unitId: p.unitId,
      variant: p.variant,
      timestamp: p.ts,
    }));
    for (let i = 0; i < events.length; i += 5000) {
      const r = (await c.call('post', 'v1/events', IngestAnswer, { events: events.slice(i, i + 5000) }))!;
      if (r.rejected.length) o.logger.warn({ rejected: r.rejected.length, first: r.rejected[0] }, 'the ingest refused some exposures');
    }
    return 'sent';
  };
}

/** The experimentation backend of another sealab (serve --role backend), over its REST contract. */
export class RemoteBackend implements ExperimentBackend {
  readonly kind = 'remote' as const;
  private readonly c: RemoteClient;
  constructor(o: RemoteOptions) {
    this.c = new RemoteClient('experimentation backend', o);
  }
  async put(experimentId: string, w: BackendWrite) {
    return (await this.c.call('put', `v1/backend/experiments/${enc(experimentId)}`, WriteResultSchema(BackendStateSchema), w))!;
  }
  async get(experimentId: string) {
    return this.c.call('get', `v1/backend/experiments/${enc(experimentId)}`, BackendStateSchema, undefined, true);
  }
  async list() {
    return (await this.c.call('get', 'v1/backend/experiments', z.object({ experiments: z.array(BackendStateSchema) })))!.experiments;
  }
}

/** Content delivery of another sealab (serve --role content), over its REST contract. */
export class RemoteContent implements ContentDelivery {
  readonly kind = 'remote' as const;
  private readonly c: RemoteClient;
  constructor(o: RemoteOptions) {
    this.c = new RemoteClient('content delivery', o);
  }
  async put(experimentId: string, w: ContentWrite) {
    return (await this.c.call('put', `v1/content-delivery/experiments/${enc(experimentId)}`, WriteResultSchema(ContentStateSchema), w))!;
  }
  async get(experimentId: string) {
    return this.c.call('get', `v1/content-delivery/experiments/${enc(experimentId)}`, ContentStateSchema, undefined, true);
  }
  async list(surfaceId?: string) {
    return (await this.c.call(
      'get',
      `v1/content-delivery/experiments${surfaceId ? `?surface=${enc(surfaceId)}` : ''}`,
      z.object({ experiments: z.array(ContentStateSchema) }),
    ))!.experiments;
  }
  /** Every item is checked against ContentItemSchema: one bad item refuses the whole answer (the caller keeps its last good list). */
  async catalog(etag?: string): Promise<ContentCatalogRead> {
    const r = await this.c.getIfNoneMatch('v1/content-delivery/content', ContentCatalogSchema, etag);
    if (r.notModified) return r;
    // An upstream that sends no ETag still gets one: the same digest it would have sent.
    return { notModified: false, etag: r.etag ?? contentEtag(r.body.content), items: r.body.content };
  }
}
