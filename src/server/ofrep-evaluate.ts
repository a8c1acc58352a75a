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
 * The answer to `POST /ofrep/v1/evaluate/flags/{key}` for a request body, as the JSON text both the hono
 * route and the node fast path send, so both answer alike. A single evaluation is a serving decision: it
 * records the exposure. An experiment flag's text is a per-(flag, answer) fragment plus the bucket
 * (experimentText): the same bytes as serialising its OfrepSuccess, without building or serialising it.
 */
export function answerSingle(app: Container, key: string, body: string): { status: 200 | 400 | 404; text: string } {
  const ctx = parseContext(body, key);
  if ('errorCode' in ctx) return { status: 400, text: JSON.stringify(ctx) };
  const e = key.includes('/') ? undefined : app.assignments.experiment(key);
  if (e) return { status: 200, text: experimentText(app, e, key, ctx.targetingKey, ctx.platform) };
  const result = evaluate(app, key, ctx.targetingKey, ctx.platform, true);
  if (!result) return { status: 404, text: JSON.stringify(notFound(key)) };
  return { status: 200, text: JSON.stringify(Object.assign(result, { cacheable: false as const })) };
}

const notFound = (key: string): OfrepFailure => ({ key, errorCode: 'FLAG_NOT_FOUND', errorDetails: `no experiment or surface slot '${key}'` });

/** The evaluation context from a request body (empty means no context), or the OFREP failure to answer. */
export function parseContext(text: string, key: string): OfrepContext | OfrepFailure {
  const plain = compactBody(text);
  if (plain) return plain;
  let raw: unknown;
  try {
    raw = JSON.parse(text); // surrounding whitespace is JSON's too: only a blank body needs the trim below
  } catch {
    if (text.trim()) return { key, errorCode: 'PARSE_ERROR', errorDetails: 'the request body is not valid JSON' };
    raw = {};
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

const OPEN = '{"context":{"targetingKey":"';
const CLOSE = '"}}';

/**
 * The compact body `{"context":{"targetingKey":"…"}}` with a key of 1–256 characters none of which is a quote,
 * a backslash or a control character: its key is the text between, exactly what JSON.parse and wellFormed
 * would return, found without either. Undefined for anything else (then parsed and checked in full).
 */
function compactBody(text: string): OfrepContext | undefined {
  const end = text.length - CLOSE.length;
  if (end - OPEN.length < 1 || end - OPEN.length > 256 || !text.startsWith(OPEN) || !text.endsWith(CLOSE)) return undefined;
  for (let i = OPEN.length; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) return undefined;
  }
  return { targetingKey: text.slice(OPEN.length, end), platform: undefined };
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
  const got = e.status === 'running' ? placed(app, e, unitId, platform) : undefined;
  if (recordExposure && got && got.index >= 0) expose(app, e, unitId, got.index);
  return experimentResult(e, key, got, missReason(e, platform));
}

/** Where a running experiment puts the unit (AssignmentIndex.variantOf); its surface is compiled whenever it runs. */
function placed(app: Container, e: CompiledExperiment, unitId: string, platform: string | undefined) {
  const got = app.assignments.variantOf(e, unitId, platform);
  if (!got) throw new Error(`experiment ${e.id} runs on surface ${e.surfaceId}, which the serving index does not hold`);
  return got;
}

const expose = (app: Container, e: CompiledExperiment, unitId: string, index: number) =>
  app.exposures.add({ experimentId: e.id, unitId, variant: e.variants[index].key, ts: app.deps.clock.now().toISOString() });

/** Why a unit outside a running experiment gets control: its targeting (platforms) left the request out, or the split did. */
const missReason = (e: CompiledExperiment, platform: string | undefined) => (untargeted(e, platform) ? 'TARGETING_MATCH' : 'SPLIT');

/** An experiment flag's answer: `got` is where a running experiment put the unit (index -1: not in it), undefined when it does not run. */
function experimentResult(
  e: CompiledExperiment,
  key: string,
  got: { bucket: number; index: number } | undefined,
  miss: 'TARGETING_MATCH' | 'SPLIT',
): OfrepSuccess {
  // Literal objects, not `{ ...meta, more }`: on Node 20 a spread followed by properties costs ~1 µs, a tenth of an evaluation.
  if (!got)
    return {
      key,
      value: e.control,
      variant: e.control,
      reason: 'DISABLED',
      metadata: { experimentId: e.id, surfaceId: e.surfaceId, status: e.status, inExperiment: false },
    };
  const metadata = { experimentId: e.id, surfaceId: e.surfaceId, status: e.status, inExperiment: got.index >= 0, bucket: got.bucket };
  if (got.index < 0) return { key, value: e.control, variant: e.control, reason: miss, metadata };
  const variant = e.variants[got.index].key;
  return { key, value: variant, variant, reason: 'SPLIT', metadata };
}

/**
 * An experiment flag's answer as JSON text: `{…"metadata":{…,"bucket":` + bucket + `},"cacheable":false}`, the
 * part before the bucket serialised once per experiment, flag key as asked (its key or its id) and answer (a
 * variant, or control by split or by targeting), then kept. A recompile makes new CompiledExperiments, so a
 * WeakMap keyed by them never serves a stale fragment.
 */
function experimentText(app: Container, e: CompiledExperiment, key: string, unitId: string, platform: string | undefined): string {
  if (e.status !== 'running') return fragment(e, key, DISABLED_SLOT, () => serialise(experimentResult(e, key, undefined, 'SPLIT')));
  const got = placed(app, e, unitId, platform);
  let slot = got.index;
  if (slot >= 0) expose(app, e, unitId, slot);
  else slot = untargeted(e, platform) ? TARGETING_SLOT : SPLIT_SLOT;
  const miss = slot === TARGETING_SLOT ? 'TARGETING_MATCH' : 'SPLIT';
  return fragment(e, key, slot, () => beforeBucket(serialise(experimentResult(e, key, { bucket: 0, index: got.index }, miss)))) + got.bucket + AFTER_BUCKET;
}

// Fragment slots past the variants' own indexes (which are >= 0): control by split, control by targeting, not running.
const SPLIT_SLOT = -1;
const TARGETING_SLOT = -2;
const DISABLED_SLOT = -3;
const AFTER_BUCKET = '},"cacheable":false}';
const fragments = new WeakMap<CompiledExperiment, Map<string, Map<number, string>>>();

function fragment(e: CompiledExperiment, key: string, slot: number, build: () => string): string {
  let byKey = fragments.get(e);
  if (!byKey) fragments.set(e, (byKey = new Map()));
  let bySlot = byKey.get(key); // at most two keys: the experiment's key and its id (AssignmentIndex.experiment)
  if (!bySlot) byKey.set(key, (bySlot = new Map()));
  let text = bySlot.get(slot);
  if (text === undefined) bySlot.set(slot, (text = build()));
  return text;
}

const serialise = (result: OfrepSuccess) => JSON.stringify(Object.assign(result, { cacheable: false as const }));

/** The text up to the bucket of an answer serialised with bucket 0 (metadata's last field, then `cacheable`). */
function beforeBucket(text: string): string {
  const tail = `0${AFTER_BUCKET}`;
  if (!text.endsWith(tail)) throw new Error(`an OFREP answer no longer ends with the bucket: ${text}`);
  return text.slice(0, -tail.length);
}

/** The experiment's targeting (platforms) leaves this request out, as AssignmentIndex.view decides. */
const untargeted = (e: CompiledExperiment, platform: string | undefined) => e.platforms !== null && (!platform || !e.platforms.has(platform));

/** A slot flag `surface/slot` for a unit, from its view of the surface (given by a caller evaluating several slots of it). */
export function evaluateSlot(
  app: Container,
  key: string,
  surfaceId: string,
  slotId: string,
  unitId: string,
  platform: string | undefined,
  record: boolean,
  view = app.assignments.view(surfaceId, unitId, platform),
): OfrepSuccess | undefined {
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
