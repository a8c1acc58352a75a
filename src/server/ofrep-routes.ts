import { Hono, type Context } from 'hono';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Container } from '../container.js';
import type { CompiledExperiment } from '../app/assignment-index.js';
import type { HttpVars } from './http-app.js';

const ContextSchema = z.object({ targetingKey: z.string().min(1).max(256).optional(), platform: z.string().optional() }).passthrough();
const RequestSchema = z.object({ context: ContextSchema.optional() }).passthrough();

type Success = { key: string; value: string; variant: string; reason: 'SPLIT' | 'DEFAULT' | 'DISABLED' | 'STATIC' | 'TARGETING_MATCH'; metadata: Record<string, string | number | boolean> };
type Failure = { key: string; errorCode: 'FLAG_NOT_FOUND' | 'PARSE_ERROR' | 'TARGETING_KEY_MISSING' | 'INVALID_CONTEXT' | 'GENERAL'; errorDetails: string };

/**
 * OpenFeature Remote Evaluation Protocol. A flag is an experiment (key or id; the value is the
 * variant key) or a surface slot `surface/slot` (the value is the content id served); the
 * targeting key is the unit id. Single evaluations are serving decisions and record the exposure;
 * bulk evaluations (client providers prefetching every flag) do not.
 */
export function ofrepRoutes(app: Container) {
  const r = new Hono<{ Variables: HttpVars }>();

  // A slot flag's key has a slash; clients may send it encoded (one segment) or not (two).
  r.post('/evaluate/flags/:surface/:slot', (c) => single(c, `${c.req.param('surface')}/${c.req.param('slot')}`));
  r.post('/evaluate/flags/:key', (c) => single(c, c.req.param('key')));

  const single = async (c: Context, key: string) => {
    const ctx = await readContext(c, key);
    if ('errorCode' in ctx) return c.json(ctx, 400);
    const result = evaluate(app, key, ctx.targetingKey, ctx.platform, true);
    if (!result) return c.json({ key, errorCode: 'FLAG_NOT_FOUND', errorDetails: `no experiment or surface slot '${key}'` } satisfies Failure, 404);
    return c.json({ ...result, cacheable: false });
  };

  r.post('/evaluate/flags', async (c) => {
    const ctx = await readContext(c, '');
    if ('errorCode' in ctx) return c.json({ errorCode: ctx.errorCode, errorDetails: ctx.errorDetails }, 400);
    const keys = [
      ...app.assignments.experiments().map((e) => e.key),
      ...app.assignments.surfaceIds().flatMap((s) => app.assignments.surface(s)!.slots.map((slot) => `${s}/${slot.id}`)),
    ];
    const flags = keys.map((k) => evaluate(app, k, ctx.targetingKey, ctx.platform, false)!);
    const body = JSON.stringify({ flags });
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
    c.header('ETag', etag);
    if (c.req.header('if-none-match')?.split(',').map((t) => t.trim()).includes(etag)) return c.body(null, 304);
    return c.body(body, 200, { 'content-type': 'application/json' });
  });

  r.get('/configuration', (c) =>
    c.json({ name: 'sealab', capabilities: { cacheInvalidation: { polling: { enabled: true, minPollingIntervalMs: 30_000 } }, flagEvaluation: { supportedTypes: ['string'] } } }),
  );
  return r;
}

async function readContext(c: Context, key: string): Promise<{ targetingKey: string; platform?: string } | Failure> {
  let raw: unknown = {};
  const text = await c.req.text();
  if (text.trim()) {
    try {
      raw = JSON.parse(text);
    } catch {
      return { key, errorCode: 'PARSE_ERROR', errorDetails: 'the request body is not valid JSON' };
    }
  }
  const parsed = RequestSchema.safeParse(raw);
  if (!parsed.success) return { key, errorCode: 'INVALID_CONTEXT', errorDetails: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  const targetingKey = parsed.data.context?.targetingKey;
  if (!targetingKey) return { key, errorCode: 'TARGETING_KEY_MISSING', errorDetails: 'context.targetingKey must be the unit id (user or device)' };
  return { targetingKey, platform: parsed.data.context?.platform };
}

function evaluate(app: Container, key: string, unitId: string, platform: string | undefined, recordExposure: boolean): Success | undefined {
  const slash = key.indexOf('/');
  if (slash > 0) return evaluateSlot(app, key, key.slice(0, slash), key.slice(slash + 1), unitId, platform, recordExposure);
  const e = app.assignments.experiment(key);
  if (!e) return undefined;
  return evaluateExperiment(app, e, key, unitId, platform, recordExposure);
}

function evaluateExperiment(app: Container, e: CompiledExperiment, key: string, unitId: string, platform: string | undefined, record: boolean): Success {
  const meta = { experimentId: e.id, surfaceId: e.surfaceId, status: e.status };
  if (e.status !== 'running') return { key, value: e.control, variant: e.control, reason: 'DISABLED', metadata: { ...meta, inExperiment: false } };
  const view = app.assignments.view(e.surfaceId, unitId, platform)!;
  const hit = view.assignments.find((a) => a.experimentId === e.id);
  if (!hit) return { key, value: e.control, variant: e.control, reason: 'DEFAULT', metadata: { ...meta, inExperiment: false, bucket: view.bucket } };
  if (record) app.exposures.add({ experimentId: e.id, unitId, variant: hit.variant, ts: new Date().toISOString() });
  return { key, value: hit.variant, variant: hit.variant, reason: 'SPLIT', metadata: { ...meta, inExperiment: true, bucket: view.bucket } };
}

function evaluateSlot(app: Container, key: string, surfaceId: string, slotId: string, unitId: string, platform: string | undefined, record: boolean): Success | undefined {
  const view = app.assignments.view(surfaceId, unitId, platform);
  const slot = view?.layout.find((l) => l.slotId === slotId);
  if (!view || !slot) return undefined;
  if (record) {
    // The slot was served: every experiment that decides this slot for the unit is exposed, control included.
    for (const a of view.assignments) {
      const e = app.assignments.experiment(a.experimentId)!;
      if (e.variants.some((v) => v.overrides.some((o) => o.slotId === slotId))) app.exposures.add({ experimentId: a.experimentId, unitId, variant: a.variant, ts: new Date().toISOString() });
    }
  }
  if (!slot.experimentId) return { key, value: slot.contentId, variant: 'default', reason: 'STATIC', metadata: { surfaceId, bucket: view.bucket } };
  return { key, value: slot.contentId, variant: slot.variant!, reason: 'SPLIT', metadata: { surfaceId, bucket: view.bucket, experimentId: slot.experimentId } };
}
