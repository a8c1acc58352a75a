import { z } from 'zod';
import type { Container } from '../container.js';
import type { CompiledExperiment } from '../app/serving/assignment-index.js';
import type { OfrepReason } from './ofrep-schemas.js';

export type OfrepSuccess = {
  key: string;
  value: string;
  variant: string;
  /**
   * From OFREP 0.3.0's set, which lacks OpenFeature's DEFAULT (ADR 0007, addendum): DISABLED an
   * experiment that is not running (control for all); SPLIT the bucket split decided, in the
   * experiment or in the unallocated share (control; metadata.inExperiment false); TARGETING_MATCH
   * the experiment's targeting left the unit out (control); STATIC a slot no experiment decides (for this unit: no
   * experiment holding it has an arm that overrides the slot; a control unit of such an experiment is SPLIT).
   */
  reason: OfrepReason;
  metadata: Record<string, string | number | boolean>;
};
export type OfrepFailure = {
  key: string;
  errorCode: 'FLAG_NOT_FOUND' | 'PARSE_ERROR' | 'TARGETING_KEY_MISSING' | 'INVALID_CONTEXT' | 'GENERAL';
  errorDetails: string;
};
export type OfrepContext = { targetingKey: string; platform?: string };

const ContextSchema = z.object({ targetingKey: z.string().min(1).max(256).optional(), platform: z.string().optional() }).passthrough();
const RequestSchema = z.object({ context: ContextSchema.optional() }).passthrough();

/**
 * The answer to `POST /ofrep/v1/evaluate/flags/{key}` for a request body, shared by the hono route
 * and the node fast path so both answer alike. A single evaluation is a serving decision: it
 * records the exposure.
 */
export function evaluateSingle(
  app: Container,
  key: string,
  body: string,
): { status: 200 | 400 | 404; body: (OfrepSuccess & { cacheable: false }) | OfrepFailure } {
  const ctx = parseContext(body, key);
  if ('errorCode' in ctx) return { status: 400, body: ctx };
  const result = evaluate(app, key, ctx.targetingKey, ctx.platform, true);
  if (!result) return { status: 404, body: { key, errorCode: 'FLAG_NOT_FOUND', errorDetails: `no experiment or surface slot '${key}'` } };
  return { status: 200, body: Object.assign(result, { cacheable: false as const }) };
}

/** The evaluation context from a request body (empty means no context), or the OFREP failure to answer. */
export function parseContext(text: string, key: string): OfrepContext | OfrepFailure {
  let raw: unknown = {};
  if (text.trim()) {
    try {
      raw = JSON.parse(text);
    } catch {
      return { key, errorCode: 'PARSE_ERROR', errorDetails: 'the request body is not valid JSON' };
    }
  }
  const quick = wellFormed(raw);
  if (quick) return quick;
  const parsed = RequestSchema.safeParse(raw);
  if (!parsed.success)
    return { key, errorCode: 'INVALID_CONTEXT', errorDetails: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  const targetingKey = parsed.data.context?.targetingKey;
  if (!targetingKey) return { key, errorCode: 'TARGETING_KEY_MISSING', errorDetails: 'context.targetingKey must be the unit id (user or device)' };
  return { targetingKey, platform: parsed.data.context?.platform };
}

/**
 * The body every OpenFeature provider sends, `{"context": {"targetingKey": "…", …}}`, checked by hand
 * with exactly RequestSchema's acceptance for it: zod's parse allocates issues and copies on the hot
 * path, so it decides only the rest (and words their errors). Undefined: ask the schema.
 */
function wellFormed(raw: unknown): OfrepContext | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const ctx = (raw as { context?: unknown }).context;
  if (typeof ctx !== 'object' || ctx === null || Array.isArray(ctx)) return undefined;
  const { targetingKey, platform } = ctx as { targetingKey?: unknown; platform?: unknown };
  if (typeof targetingKey !== 'string' || targetingKey.length < 1 || targetingKey.length > 256) return undefined;
  if (platform !== undefined && typeof platform !== 'string') return undefined;
  return { targetingKey, platform };
}

/** A flag is an experiment (key or id) or a surface slot `surface/slot`; undefined when it is neither. */
export function evaluate(app: Container, key: string, unitId: string, platform: string | undefined, recordExposure: boolean): OfrepSuccess | undefined {
  const slash = key.indexOf('/');
  if (slash > 0) return evaluateSlot(app, key, key.slice(0, slash), key.slice(slash + 1), unitId, platform, recordExposure);
  const e = app.assignments.experiment(key);
  if (!e) return undefined;
  return evaluateExperiment(app, e, key, unitId, platform, recordExposure);
}

function evaluateExperiment(app: Container, e: CompiledExperiment, key: string, unitId: string, platform: string | undefined, record: boolean): OfrepSuccess {
  // Literal objects, not `{ ...meta, more }`: on Node 20 a spread followed by properties costs ~1 µs, a tenth of an evaluation.
  if (e.status !== 'running')
    return {
      key,
      value: e.control,
      variant: e.control,
      reason: 'DISABLED',
      metadata: { experimentId: e.id, surfaceId: e.surfaceId, status: e.status, inExperiment: false },
    };
  const view = app.assignments.view(e.surfaceId, unitId, platform)!;
  const hit = view.assignments.find((a) => a.experimentId === e.id);
  const metadata = { experimentId: e.id, surfaceId: e.surfaceId, status: e.status, inExperiment: Boolean(hit), bucket: view.bucket };
  if (!hit) return { key, value: e.control, variant: e.control, reason: untargeted(e, platform) ? 'TARGETING_MATCH' : 'SPLIT', metadata };
  if (record) app.exposures.add({ experimentId: e.id, unitId, variant: hit.variant, ts: app.deps.clock.now().toISOString() });
  return { key, value: hit.variant, variant: hit.variant, reason: 'SPLIT', metadata };
}

/** The experiment's targeting (platforms) leaves this request out, as AssignmentIndex.view decides. */
const untargeted = (e: CompiledExperiment, platform: string | undefined) => e.platforms !== null && (!platform || !e.platforms.has(platform));

function evaluateSlot(
  app: Container,
  key: string,
  surfaceId: string,
  slotId: string,
  unitId: string,
  platform: string | undefined,
  record: boolean,
): OfrepSuccess | undefined {
  const view = app.assignments.view(surfaceId, unitId, platform);
  const slot = view?.layout.find((l) => l.slotId === slotId);
  if (!view || !slot) return undefined;
  // Every experiment that decides this slot for the unit — its variant overrides the slot, or it holds the
  // unit in an arm (control included) while another arm overrides it — is exposed when the slot is served.
  const deciding = view.assignments.filter((a) =>
    app.assignments.experiment(a.experimentId)!.variants.some((v) => v.overrides.some((o) => o.slotId === slotId)),
  );
  if (record) for (const a of deciding) app.exposures.add({ experimentId: a.experimentId, unitId, variant: a.variant, ts: app.deps.clock.now().toISOString() });
  // An empty or hidden optional slot renders nothing: value "" and metadata.empty true (OpenFeature string flags need a string).
  const value = slot.contentId ?? '';
  const empty = slot.contentId === null;
  // SPLIT when an experiment's split decided what the unit sees here (a control unit sees the default by that split); else STATIC.
  const decider = slot.experimentId ? { experimentId: slot.experimentId, variant: slot.variant! } : deciding[0];
  if (!decider) return { key, value, variant: 'default', reason: 'STATIC', metadata: { surfaceId, bucket: view.bucket, empty } };
  return { key, value, variant: decider.variant, reason: 'SPLIT', metadata: { surfaceId, bucket: view.bucket, experimentId: decider.experimentId, empty } };
}
