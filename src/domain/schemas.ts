import { z } from 'zod';

/** Zod schemas are the single source of truth for shapes: MCP, REST and storage use them. */

/** What an id (key, slot, content, metric, surface) looks like. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
export const Id = z.string().min(1).max(64).regex(ID_PATTERN, 'lowercase letters, digits, - and _ only');

/** Control characters (all but tab and newline) and bidi overrides never reach storage or an agent's context. */
const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g;
export const stripControl = (text: string) => text.replace(CONTROL_CHARS, '').trim();

/**
 * Text people or agents wrote (names, hypotheses, descriptions): control characters stripped and
 * trimmed on the way in, then length-limited. It is data; tools return it delimited, never as instructions.
 */
export const SafeText = (max: number) => z.string().overwrite(stripControl).min(1).max(max);
export const Platform = z.enum(['ios', 'android', 'web', 'desktop']);
export const ContentType = z.enum(['shelf', 'playlist', 'podcast', 'banner', 'album', 'mix']);

export const SlotSchema = z
  .object({
    id: Id.describe('Slot id, unique on its surface, e.g. "shelf-1"'),
    name: z.string(),
    position: z.number().int().min(0),
    accepts: z.array(ContentType).min(1).describe('Content types this slot can show'),
    optional: z.boolean().optional().describe('true: the slot may be hidden or left empty; an experiment may add or remove it, e.g. true for a fifth shelf'),
    defaultContentId: Id.nullable().describe(
      'Content item shown when no experiment overrides the slot; null only for an optional slot that is empty by default',
    ),
  })
  .refine((s) => s.defaultContentId !== null || s.optional, { message: 'only an optional slot may be empty by default', path: ['defaultContentId'] });

export const SurfaceSchema = z.object({
  id: Id,
  name: z.string(),
  description: z.string(),
  platforms: z.array(Platform).min(1),
  dailyTraffic: z.number().int().positive().describe('Expected unique units per day'),
  bucketCount: z.number().int().min(100).max(1_000_000),
  salt: z.string().min(1),
  slots: z.array(SlotSchema).min(1),
  holdbacks: z
    .array(
      z.object({ id: Id, name: z.string(), buckets: z.array(z.tuple([z.number().int(), z.number().int()])).describe('Reserved bucket ranges [start, end)') }),
    )
    .optional()
    .describe('Long-term holdbacks: buckets no experiment may own'),
});

export const ContentItemSchema = z.object({
  id: Id,
  type: ContentType,
  title: z.string(),
  platforms: z.array(Platform).min(1),
});

export const MetricKind = z.enum(['binary', 'mean', 'count', 'ratio', 'quantile']);

/** A raw product event's name, as producers send it: e.g. "stream_start", "app.crash". */
export const EventName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/, 'letters, digits, and _ . : / - only, starting with a letter or digit');
const PropertyValue = z.union([z.string().max(256), z.number().finite(), z.boolean()], {
  error: 'a property value is a string (at most 256 characters), a finite number or a boolean: properties are flat',
});
const PropertyKey = z.string().min(1).max(64);
/** Limits of a raw event's properties (more is refused with the reason PROPERTIES_TOO_LARGE). */
export const EVENT_PROPERTY_LIMITS = { count: 32, keyLength: 64, valueLength: 256, jsonBytes: 2048 } as const;
const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

/** A raw product event's properties: flat, bounded (EVENT_PROPERTY_LIMITS), what a metric source's `where` filters on. */
export const EventPropertiesSchema = z
  .record(PropertyKey, PropertyValue)
  .refine((p) => Object.keys(p).length <= EVENT_PROPERTY_LIMITS.count, { message: `at most ${EVENT_PROPERTY_LIMITS.count} properties` })
  .refine((p) => utf8Bytes(JSON.stringify(p)) <= EVENT_PROPERTY_LIMITS.jsonBytes, {
    message: `at most ${EVENT_PROPERTY_LIMITS.jsonBytes} bytes of JSON in all`,
  })
  .describe(
    'Flat event attributes that metric sources filter on: string (≤ 256 characters), number or boolean values, ≤ 32 keys of ≤ 64 characters, ≤ 2 KiB of JSON; e.g. {"platform": "ios", "track_type": "music"}',
  );

/** How raw product events become one unit's value for a metric (issue 14). */
export const MetricSourceSchema = z
  .object({
    event: EventName.describe('The raw product event that feeds the metric, e.g. "stream_start"'),
    where: z
      .record(PropertyKey, z.union([PropertyValue, z.array(PropertyValue).min(1).max(100)]))
      .optional()
      .describe(
        'Property filters, all must hold: a value (equal, same type: "1" is not 1) or a list (one of); an event without the property does not match; e.g. {"platform": ["ios", "android"]}',
      ),
    aggregate: z
      .enum(['count', 'sum', 'mean', 'any'])
      .describe(
        "A unit's value from its matching events: how many (count), the sum of their values (sum), their mean value (mean), or 1 if any (any, binary metrics)",
      ),
    windowHours: z
      .number()
      .positive()
      .max(24 * 365)
      .optional()
      .describe("Conversion window: only events within this many hours after the unit's first exposure count, e.g. 168 for 7 days; absent = no end"),
  })
  .strict();
export type MetricSource = z.infer<typeof MetricSourceSchema>;

/** Which aggregations each metric kind can use; ratio metrics take no source (their numerator and denominator metrics do). */
const AGGREGATES_OF_KIND: Record<z.infer<typeof MetricKind>, readonly MetricSource['aggregate'][]> = {
  binary: ['any'],
  count: ['count', 'sum'],
  mean: ['count', 'sum', 'mean'],
  quantile: ['mean'],
  ratio: [],
};

export const MetricSchema = z
  .object({
    id: Id,
    name: z.string(),
    description: z.string(),
    kind: MetricKind,
    direction: z.enum(['increase', 'decrease']).describe('Which direction is desirable'),
    isGuardrail: z.boolean().describe('Suitable as a guardrail (quality/health) metric'),
    baselineMean: z.number(),
    baselineVariance: z.number().nonnegative(),
    unit: z.string().optional(),
    numeratorId: Id.optional().describe('ratio metrics: the metric summed in the numerator, e.g. "skips"'),
    denominatorId: Id.optional().describe('ratio metrics: the metric summed in the denominator, e.g. "streams"'),
    quantile: z
      .number()
      .gt(0)
      .lt(1)
      .optional()
      .describe(
        "quantile metrics: the level, e.g. 0.9 for P90 of the units' values (a unit's value: the mean of its events since exposure); baselineMean is then the quantile and baselineVariance ν(1 − ν)/f(ξ)², the per-unit variance of the sample quantile",
      ),
    source: MetricSourceSchema.optional().describe(
      'Raw product events that feed the metric (POST /v1/events {"type":"event","name":...}); absent: the metric takes pre-computed {"type":"metric"} events',
    ),
    capMax: z
      .number()
      .positive()
      .optional()
      .describe("Caps each unit's value at this maximum before analysis (winsorizes outliers, e.g. 600 minutes); binary and ratio metrics take none"),
  })
  .refine((m) => (m.kind === 'quantile') === (m.quantile !== undefined), {
    message: 'a quantile metric needs its level (quantile, e.g. 0.9), and only a quantile metric has one',
    path: ['quantile'],
  })
  .refine((m) => !m.source || AGGREGATES_OF_KIND[m.kind].includes(m.source.aggregate), {
    message:
      'this aggregation does not fit the metric kind: binary takes "any"; count takes "count" or "sum"; mean takes "count", "sum" or "mean"; quantile takes "mean"; ratio takes no source (its numerator and denominator metrics do)',
    path: ['source', 'aggregate'],
  })
  .refine((m) => m.capMax === undefined || (m.kind !== 'binary' && m.kind !== 'ratio'), {
    message: 'binary and ratio metrics take no cap (cap their component metrics instead)',
    path: ['capMax'],
  });

export const ExperimentStatus = z.enum(['draft', 'running', 'paused', 'concluded', 'archived']);
export const Outcome = z.enum(['shipped', 'rolled_back', 'inconclusive', 'stopped']);

export const OverrideSchema = z.object({
  slotId: Id.describe('Slot on the experiment surface, e.g. "shelf-1"'),
  contentId: Id.nullable().describe('Content item to show in that slot for this variant, e.g. "pl-deep-focus"; null hides an optional slot'),
});

const SlotRef = Id.describe('Slot id on the experiment surface, e.g. "shelf-2"');
const ContentRef = Id.describe('Content item id from sealab://content, e.g. "sh-focus"');

/** A layout change: what a treatment does to the surface, compiled to slot overrides against the current default layout. */
export const LayoutChangeSchema = z.discriminatedUnion('op', [
  z
    .object({ op: z.literal('replace'), slotId: SlotRef, contentId: ContentRef })
    .describe('Show other content in a slot, e.g. {"op":"replace","slotId":"shelf-2","contentId":"sh-focus"}'),
  z
    .object({ op: z.literal('swap'), slotIds: z.tuple([SlotRef, SlotRef]).describe('The two slots whose contents trade places, e.g. ["shelf-1","shelf-3"]') })
    .describe('Trade the contents of two slots, e.g. {"op":"swap","slotIds":["shelf-1","shelf-3"]}'),
  z
    .object({ op: z.literal('move'), slotId: SlotRef, toSlotId: SlotRef.describe('Where the content goes, e.g. "shelf-1"; the slots in between shift by one') })
    .describe('Move a slot\'s content to another slot, the slots in between shifting by one, e.g. {"op":"move","slotId":"shelf-3","toSlotId":"shelf-1"}'),
  z
    .object({
      op: z.literal('reorder'),
      order: z
        .array(SlotRef)
        .min(2)
        .max(20)
        .describe(
          'Slots whose contents, in this order, fill those same slots top to bottom, e.g. ["shelf-2","shelf-3","shelf-1"]: shelf-1 shows what shelf-2 showed, shelf-2 what shelf-3 showed, shelf-3 what shelf-1 showed',
        ),
    })
    .describe('Reorder the contents of some slots, e.g. {"op":"reorder","order":["shelf-2","shelf-3","shelf-1"]}'),
  z
    .object({ op: z.literal('add'), slotId: SlotRef, contentId: ContentRef })
    .describe('Fill an optional slot that is empty by default, e.g. {"op":"add","slotId":"shelf-5","contentId":"sh-focus"}'),
  z.object({ op: z.literal('remove'), slotId: SlotRef }).describe('Hide an optional slot, e.g. {"op":"remove","slotId":"shelf-5"}'),
]);
export type LayoutChange = z.infer<typeof LayoutChangeSchema>;

export const VariantSchema = z.object({
  key: Id.describe('Variant key, e.g. "control" or "treatment"'),
  name: SafeText(120).optional(),
  isControl: z.boolean().default(false).describe('Exactly one variant is the control'),
  weight: z.number().positive().describe('Relative traffic weight; weights are normalised, e.g. 50'),
  layout: z
    .array(LayoutChangeSchema)
    .max(20)
    .optional()
    .describe('Layout changes, applied in order to the current default layout; the server compiles them into overrides'),
  overrides: z
    .array(OverrideSchema)
    .default([])
    .describe('Slot overrides this variant serves; empty for the control. With layout, the server computes them (the low-level form otherwise)'),
});

export const TargetingSchema = z.object({
  platforms: z.array(Platform).optional().describe('Only units on these platforms; omit for all the surface supports'),
});

/** How a guardrail's margin is stated: relative to the control mean, or in the metric's unit. */
export const MarginType = z.enum(['relative', 'absolute']);
/** How a guardrail is judged: a non-inferiority proof at its margin, or only "not significantly worse" (rare events). */
export const GuardrailTest = z.enum(['non_inferiority', 'no_deterioration']);

export const GuardrailSchema = z.object({
  metricId: Id.describe('Guardrail metric id, e.g. "crash-rate"'),
  margin: z
    .number()
    .positive()
    .default(0.02)
    .describe(
      'Tolerated deterioration: relative (0.02 = 2% of the control mean, at most 1) or, with marginType "absolute", in the metric\'s unit (e.g. 10 ms)',
    ),
  marginType: MarginType.default('relative').describe('"relative" (default) or "absolute" (margin in the metric\'s unit)'),
  test: GuardrailTest.default('non_inferiority').describe(
    '"non_inferiority" (default): ship needs proof it is not worse by more than the margin; "no_deterioration": only not significantly worse, for rare events (e.g. crash-rate) where the policy allows it',
  ),
});

export const RampGateSchema = z.object({
  minUnitsPerArm: z.number().int().min(0).max(10_000_000).optional().describe('Exposed units every arm needs before the next stage (default 100), e.g. 500'),
});

export const RampPlanSchema = z.object({
  stages: z
    .array(z.number().gt(0).max(100))
    .max(10)
    .default([])
    .describe('Later allocations, ascending, ramped through after allocationPercent (no skipping), e.g. [25, 50]'),
  minHours: z
    .number()
    .min(0)
    .max(2160)
    .optional()
    .describe('Minimum hours each stage runs before the ramp scheduler advances to the next (default 24), e.g. 48'),
  gate: RampGateSchema.optional().describe('What must hold to advance, besides SRM and guardrails'),
});

export const AnalysisPlanSchema = z.object({
  alpha: z.number().gt(0).lt(0.5).default(0.05),
  power: z.number().gt(0.5).lt(1).default(0.8),
  mde: z.number().gt(0).lt(10).default(0.02).describe('Minimum detectable effect, relative to the control mean, e.g. 0.02'),
  durationDays: z.number().int().min(1).max(180).default(14),
  sequential: z
    .boolean()
    .default(true)
    .describe('true (default): always-valid inference, safe to peek at any time; false: fixed horizon, read once at the planned duration'),
  looks: z
    .number()
    .int()
    .min(2)
    .max(20)
    .optional()
    .describe("Group-sequential plan: the number of equally spaced looks (O'Brien–Fleming alpha spending); overrides sequential"),
  correction: z.enum(['holm', 'bonferroni', 'bh']).default('holm').describe('Multiple-testing correction across success metrics'),
  proportionTest: z
    .enum(['unpooled', 'pooled', 'chi2'])
    .optional()
    .describe(
      'Binary metrics under a fixed-horizon plan: "unpooled" (default: Wald z, one SE for test and interval), "pooled" (score z, as R prop.test(correct = FALSE)) or "chi2" (2×2 χ² with Yates correction, as R chisq.test); sequential methods always use the unpooled SE, e.g. "pooled"',
    ),
  cuped: z.boolean().default(true).describe("Adjust with each unit's pre-exposure value of the metric (CUPED) when it helps"),
  bayesian: z.boolean().default(false).describe('Also report chance to beat control and expected loss (Gaussian model)'),
  prior: z
    .object({
      mean: z.number().describe('Prior mean of the effect, e.g. 0'),
      variance: z.number().gt(0).describe('Prior variance of the effect, e.g. 0.0025 (a 5% sd on a relative scale)'),
      scale: z
        .enum(['relative', 'absolute'])
        .default('relative')
        .describe('"relative" (default): the effect as a fraction of the control mean; "absolute": in metric units'),
    })
    .optional()
    .describe(
      'Bayesian view: a proper normal prior on the effect (treatment − control), rescaled to metric units with the control mean when stated relatively, e.g. {"mean":0,"variance":0.0025,"scale":"relative"}; omitted: flat prior',
    ),
  sequentialMethod: z
    .enum(['confidence_sequence', 'msprt'])
    .optional()
    .describe(
      'Always-valid plans: "confidence_sequence" (default; asymptotic confidence sequence) or "msprt" (mixture SPRT: e-value against a N(0, τ²) mixture, p-value = running minimum over the daily looks), e.g. "msprt"',
    ),
  sequentialTuning: z
    .number()
    .int()
    .min(2)
    .optional()
    .describe('Confidence sequence: total units (all arms) at which it is tightest, e.g. 40000; default: the planned sample the traffic can deliver'),
  msprtMixingSd: z
    .number()
    .gt(0)
    .lt(10)
    .optional()
    .describe("mSPRT: the mixing sd τ as a relative effect (τ² = (τ·|metric baseline|)² in metric units), e.g. 0.02; default: the plan's mde"),
});

/** The analysis plan of an experiment. */
export type AnalysisPlan = z.infer<typeof AnalysisPlanSchema>;

/** What an agent writes: the editable part of an experiment. */
export const ExperimentConfigSchema = z.object({
  key: Id.describe('Short unique key (lowercase letters, digits, - and _), e.g. "home-focus-shelf"'),
  name: SafeText(120).describe('Short human name, e.g. "Focus shelf on Home"'),
  hypothesis: SafeText(2000).describe('We believe X will change metric Y because Z'),
  owner: SafeText(120).describe('Team or person accountable, e.g. "home-team"'),
  surfaceId: Id.describe('Surface to run on, e.g. "home" (see list_surfaces)'),
  exclusivityGroup: Id.optional().describe('Experiments in the same group on a surface never share a unit, whatever slots they touch, e.g. "home-ranking"'),
  variants: z.array(VariantSchema).min(2).max(10),
  allocationPercent: z
    .number()
    .gt(0)
    .max(100)
    .default(10)
    .describe("Share of surface traffic now: the start (at most the policy's first-stage cap), then the current ramp stage, e.g. 10"),
  rampPlan: RampPlanSchema.default({ stages: [] }).describe('Planned later allocations, e.g. {"stages":[25,50]}'),
  targeting: TargetingSchema.default({}),
  successMetrics: z.array(Id).min(1).max(5).describe('Metric ids the experiment aims to improve, e.g. ["stream-rate"]'),
  guardrails: z.array(GuardrailSchema).default([]).describe('Metrics that must not get worse'),
  analysisPlan: AnalysisPlanSchema.default({
    alpha: 0.05,
    power: 0.8,
    mde: 0.02,
    durationDays: 14,
    sequential: true,
    correction: 'holm',
    cuped: true,
    bayesian: false,
  }),
});

export const BucketRange = z.tuple([z.number().int(), z.number().int()]);

export const ExperimentSchema = ExperimentConfigSchema.extend({
  id: z.string(),
  status: ExperimentStatus,
  outcome: Outcome.nullable(),
  version: z.number().int().positive(),
  buckets: z.array(BucketRange).describe('Owned bucket ranges [start, end) on the surface'),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
});

export type Slot = z.infer<typeof SlotSchema>;
export type Surface = z.infer<typeof SurfaceSchema>;
export type ContentItem = z.infer<typeof ContentItemSchema>;
export type Metric = z.infer<typeof MetricSchema>;
export type ExperimentConfig = z.infer<typeof ExperimentConfigSchema>;
export type ExperimentConfigInput = z.input<typeof ExperimentConfigSchema>;
export type Experiment = z.infer<typeof ExperimentSchema>;
export type ExperimentStatus = z.infer<typeof ExperimentStatus>;
export type Outcome = z.infer<typeof Outcome>;
export type Variant = z.infer<typeof VariantSchema>;
export type Override = z.infer<typeof OverrideSchema>;
export type Ranges = Array<[number, number]>;

/** One RFC 6902 JSON Patch operation; paths are JSON Pointers into the experiment config. */
export const JsonPatchOperationSchema = z.object({
  op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']),
  path: z.string().describe('JSON Pointer, e.g. "/guardrails/-"'),
  value: z.unknown().optional().describe('The value for add, replace and test'),
  from: z.string().optional().describe('Source pointer for move and copy'),
});
export type JsonPatchOperation = z.infer<typeof JsonPatchOperationSchema>;

export const FindingSchema = z.object({
  code: z.string().describe('Stable rule code, e.g. "MISSING_GUARDRAIL"; sealab://rules explains each'),
  severity: z.enum(['error', 'warning', 'info']),
  path: z.string().describe('JSON path into the config, e.g. "$.variants[1].weight"'),
  message: z.string(),
  fix: z.string().describe('What to change to resolve it'),
  patch: z
    .array(JsonPatchOperationSchema)
    .optional()
    .describe('Where the fix is mechanical: a JSON Patch to apply to the config (update_experiment accepts it as is)'),
});
export type Finding = z.infer<typeof FindingSchema>;
