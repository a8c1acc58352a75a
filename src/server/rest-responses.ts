import { z } from 'zod';
import { SloReportViewSchema } from '../ops/slo/slo-view.js';
import {
  ContentItemSchema,
  ExperimentConfigSchema,
  ExperimentSchema,
  FindingSchema,
  JsonPatchOperationSchema,
  MetricSchema,
  SurfaceSchema,
} from '../domain/schemas.js';
import { DiagnosisSchema } from '../ops/diagnosis-schema.js';
import { ContentSyncStatusSchema } from '../app/catalog/content-sync.js';
import { CatalogPlanSchema } from '../app/catalog/catalog-plan.js';
import { CatalogApplyResultSchema } from '../app/catalog/catalog-apply.js';
import { RampStatusSchema } from '../../tools/get-ramp-status.js';
import { MetricsHistorySchema } from '../app/results/metrics-history.js';

/**
 * What the REST, serving and ops routes answer, for the OpenAPI document (openapi.ts). Records that
 * have a zod schema (surface, experiment, metric, content item, finding) are stated in full from it;
 * the analysis, plan and policy views, computed by the domain core as TypeScript types, are stated by
 * their top-level fields, with the rest left open (`looseObject`) rather than guessed.
 */
const Check = z.object({ ok: z.boolean(), reason: z.string().optional() });

const SurfaceView = SurfaceSchema.extend({
  runningExperiments: z.array(
    z.object({ id: z.string(), key: z.string(), status: z.string(), allocationPercent: z.number(), slots: z.array(z.string()), buckets: z.number().int() }),
  ),
  freeBuckets: z.number().int(),
  freePercent: z.number(),
});

const Assignment = z.object({
  surfaceId: z.string(),
  unitId: z.string(),
  bucket: z.number().int(),
  assignments: z.array(z.looseObject({ experimentId: z.string(), experimentKey: z.string(), variant: z.string() })),
  layout: z.array(z.object({ slotId: z.string(), contentId: z.string().nullable(), experimentId: z.string().nullable(), variant: z.string().nullable() })),
});

const Conclusion = z.looseObject({}).nullable().describe('How the experiment ended (outcome, decision record); null while it has not');

const Validation = z.looseObject({
  valid: z.boolean(),
  findings: z.array(FindingSchema),
  experimentId: z.string().nullable(),
  version: z.number().int().nullable(),
  configHash: z.string().nullable(),
  planHash: z.string().nullable(),
  policyVersion: z.string(),
  recorded: z.boolean(),
  fixPatch: z.array(JsonPatchOperationSchema),
});

const WithExperiment = z.object({ experiment: ExperimentSchema });

/** An approval request (src/store/approval-repo.ts); the held step's arguments and result stay open. */
const Approval = z.looseObject({
  id: z.string(),
  experimentId: z.string(),
  step: z.string(),
  summary: z.string(),
  requester: z.string(),
  status: z.enum(['pending', 'approved', 'rejected', 'expired', 'applied', 'failed']),
  decidedBy: z.string().nullable(),
  decisionReason: z.string().nullable(),
  createdAt: z.string(),
  expiresAt: z.string(),
  decidedAt: z.string().nullable(),
});

/** 202: the policy held the step for a person's approval; nothing was applied. */
const Pending = z.object({ status: z.literal('pending_approval'), approvalId: z.string(), summary: z.string(), expiresAt: z.string(), how: z.string() });

export const Responses = {
  catalogPlan: CatalogPlanSchema,
  catalogApply: CatalogApplyResultSchema,
  /** Prometheus' text exposition: `# HELP`, `# TYPE` and one sample per line. */
  metricsText: z
    .string()
    .regex(/^# HELP /)
    .describe('Prometheus text exposition format 0.0.4'),
  health: z.object({ status: z.literal('ok'), version: z.string(), serving: z.looseObject({}).optional() }),
  readiness: z.object({
    ready: z.boolean(),
    checks: z.object({
      serving: Check.extend({
        revision: z.number().nullable().optional().describe('The configuration revision serving holds every write up to, e.g. 42 (null: not known)'),
        propagationSeconds: z
          .number()
          .nullable()
          .optional()
          .describe('The last commit-to-serving time measured on this process (seconds), e.g. 0.03; null until a compile brought a newer revision'),
      }),
      database: Check,
      systems: Check,
      content: Check.extend({ stale: z.boolean().optional() })
        .optional()
        .describe('With a remote content delivery: the content catalog synced from it (stale: not confirmed lately; still ready)'),
    }),
  }),
  document: z.looseObject({ openapi: z.literal('3.1.0'), paths: z.record(z.string(), z.unknown()) }),
  surfaces: z.object({ surfaces: z.array(SurfaceView) }),
  surface: SurfaceView,
  assignment: Assignment,
  layout: Assignment.extend({ exposed: z.array(z.string()).describe('Experiments exposed by this answer (they decide a served slot)') }),
  metrics: z.object({ metrics: z.array(MetricSchema) }),
  content: z.object({
    content: z.array(ContentItemSchema),
    sync: ContentSyncStatusSchema.optional().describe('With a remote content delivery: where the catalog comes from and how fresh it is'),
  }),
  policy: z.looseObject({
    version: z.string(),
    hash: z.string(),
    description: z.string().nullable(),
    srmThreshold: z.number(),
    defaults: z.looseObject({}),
    surfaces: z.record(z.string(), z.looseObject({ policyHash: z.string() })),
    howToRead: z.string(),
  }),
  rules: z.object({
    rules: z.array(z.object({ code: z.string(), family: z.string(), severity: z.string(), rationale: z.string(), fix: z.string(), patchable: z.boolean() })),
  }),
  experiments: z.object({ experiments: z.array(ExperimentSchema) }),
  created: z.object({
    experiment: ExperimentSchema,
    replayed: z.boolean().describe('true (and status 200) when the idempotency key replayed an earlier create'),
  }),
  validation: Validation,
  plan: z.looseObject({ config: ExperimentConfigSchema, rationale: z.array(z.string()), validation: Validation }),
  experiment: z.object({ experiment: ExperimentSchema, conclusion: Conclusion }),
  withExperiment: WithExperiment,
  updated: WithExperiment.extend({ changed: z.boolean() }),
  deploy: z.looseObject({ experiment: ExperimentSchema, plan: z.looseObject({}), applied: z.boolean(), replayed: z.boolean(), planHash: z.string() }),
  concluded: z.object({ experiment: ExperimentSchema, conclusion: Conclusion }),
  report: z.looseObject({
    experimentId: z.string(),
    key: z.string(),
    status: z.string(),
    version: z.number().int(),
    computedAt: z.string(),
    dataUpdatedAt: z.string().nullable(),
    fold: z.object({ pending: z.number().int(), lagSeconds: z.number() }),
    method: z.string(),
    alpha: z.number(),
    sample: z.looseObject({ plannedTotal: z.number(), observedTotal: z.number() }),
    exposures: z.array(z.object({ variant: z.string(), weight: z.number(), units: z.number() })),
    srm: z.looseObject({ checked: z.boolean(), mismatch: z.boolean() }),
    metrics: z.array(z.looseObject({})),
    decision: z.looseObject({}),
  }),
  /** get_ramp_status' output schema: one shape for the tool and the route. */
  ramp: RampStatusSchema,
  history: MetricsHistorySchema,
  audit: z.object({
    audit: z.array(
      z.object({
        id: z.number().int(),
        at: z.string(),
        actor: z.string(),
        interface: z.string(),
        operation: z.string(),
        requestId: z.string(),
        rationale: z.string().nullable(),
        confirmation: z.looseObject({}).nullable(),
        onBehalfOf: z.string().nullable(),
        entityType: z.string(),
        entityId: z.string(),
        before: z.unknown(),
        after: z.unknown(),
      }),
    ),
  }),
  approvals: z.object({ approvals: z.array(Approval) }),
  approval: z.object({ approval: Approval }),
  approved: z.object({ approval: Approval, experiment: ExperimentSchema }),
  pendingApproval: Pending,
  clock: z.object({ now: z.string(), simulated: z.boolean() }),
  operations: DiagnosisSchema,
  slo: SloReportViewSchema,
  advance: z.object({ from: z.string(), now: z.string(), steps: z.number().int(), ticks: z.array(z.looseObject({})) }),
  ingest: z.object({
    accepted: z.number().int(),
    duplicates: z.number().int(),
    unmatched: z.number().int().describe('Raw events accepted whose name no metric source uses yet: stored, and read by metrics defined later'),
    rejected: z.array(z.object({ index: z.number().int(), id: z.string().nullable(), code: z.string(), message: z.string() })),
  }),
};
