import { z } from 'zod';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../domain/canonical.js';
import { ContentItemSchema, TargetingSchema, VariantSchema, type ContentItem } from '../domain/schemas.js';

const RangesSchema = z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])).describe('Owned bucket ranges [start, end)');

/** The experimentation backend's statuses: allocated = buckets reserved but nobody assigned yet. */
export const BackendStatus = z.enum(['allocated', 'running', 'paused', 'released']);
export type BackendStatus = z.infer<typeof BackendStatus>;

/** A step of a saga, as a system records it: (opId, step) is applied at most once. */
export const StepRef = z.object({
  opId: z.string().min(1).max(128).describe('The saga operation id, e.g. "op_ab12…"'),
  step: z.string().min(1).max(64).describe('The saga step, e.g. "backend.allocate" or "compensate.backend"'),
});

/** Desired backend state of one experiment: a full-state PUT, so a retry or a replay is harmless. */
export const BackendWriteSchema = StepRef.extend({
  surfaceId: z.string().min(1),
  key: z.string().min(1),
  status: BackendStatus,
  buckets: RangesSchema,
  allocationPercent: z.number().min(0).max(100),
  variants: z.array(VariantSchema),
  targeting: TargetingSchema.default({}).describe('Who may be assigned (platforms); assignment filters on it'),
});
/** What a caller sends (targeting may be left out: everyone). */
export type BackendWrite = z.input<typeof BackendWriteSchema>;

export const BackendStateSchema = z.object({
  experimentId: z.string(),
  surfaceId: z.string(),
  key: z.string(),
  status: BackendStatus,
  buckets: RangesSchema,
  allocationPercent: z.number(),
  variants: z.array(VariantSchema),
  targeting: TargetingSchema.default({}),
  updatedAt: z.string(),
});
export type BackendState = z.infer<typeof BackendStateSchema>;

const Shipped = z
  .string()
  .nullable()
  .default(null)
  .describe('The shipped variant\'s key: its overrides are the surface\'s default layout for every unit, e.g. "focus"; null: nothing shipped');
const ShippedAt = z.string().nullable().default(null).describe('When it was shipped (ISO); later ships win on the slots they share');

/** Which per-variant slot overrides of an experiment a surface serves, and which variant (if any) it ships to everyone. */
export const ContentWriteSchema = StepRef.extend({
  surfaceId: z.string().min(1),
  serving: z.boolean().describe("true: the surface renders the variants' overrides for assigned units"),
  variants: z.array(VariantSchema),
  shipped: Shipped,
  shippedAt: ShippedAt,
});
/** What a caller sends (shipped may be left out: nothing shipped). */
export type ContentWrite = z.input<typeof ContentWriteSchema>;

export const ContentStateSchema = z.object({
  experimentId: z.string(),
  surfaceId: z.string(),
  serving: z.boolean(),
  variants: z.array(VariantSchema),
  shipped: Shipped,
  shippedAt: ShippedAt,
  updatedAt: z.string(),
});
export type ContentState = z.infer<typeof ContentStateSchema>;

/**
 * What serving needs from both systems: the backend's allocations (who is assigned what) and
 * content delivery's override sets (what a surface renders for each variant).
 */
export interface ServingConfig {
  backend: BackendState[];
  content: ContentState[];
}

/** A write's answer: the state after it, and whether this (opId, step) had been applied before. */
export const WriteResultSchema = <T extends z.ZodType>(state: T) => z.object({ state, replayed: z.boolean() });

/** Experiment state transitions, bucket allocations and assignment configuration, wherever they live. */
export interface ExperimentBackend {
  readonly kind: 'embedded' | 'remote';
  put(experimentId: string, write: BackendWrite): Promise<{ state: BackendState; replayed: boolean }>;
  get(experimentId: string): Promise<BackendState | null>;
  list(): Promise<BackendState[]>;
}

/** The content catalog as content delivery lists it (GET /v1/content-delivery/content), ordered by id. */
export const ContentCatalogSchema = z.object({ content: z.array(ContentItemSchema) });

/**
 * A content catalog read conditionally: unchanged since the entity tag the caller holds, or the
 * whole list with its tag. The tag is a strong ETag over the canonical list, so every process
 * computes the same one for the same items whatever their key order.
 */
export type ContentCatalogRead = { notModified: true } | { notModified: false; etag: string; items: ContentItem[] };

/** A strong ETag (quoted) for a content list: sha256 of its canonical JSON, items ordered by id. */
export function contentEtag(items: ContentItem[]): string {
  const sorted = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return `"${createHash('sha256').update(canonicalJson(sorted)).digest('base64url')}"`;
}

/** Surface layouts: which experiments' per-variant slot overrides each surface serves, and the content they can show. */
export interface ContentDelivery {
  readonly kind: 'embedded' | 'remote';
  /** The content items this system delivers; `{notModified}` when they still match `etag` (If-None-Match). */
  catalog(etag?: string): Promise<ContentCatalogRead>;
  put(experimentId: string, write: ContentWrite): Promise<{ state: ContentState; replayed: boolean }>;
  get(experimentId: string): Promise<ContentState | null>;
  list(surfaceId?: string): Promise<ContentState[]>;
}
