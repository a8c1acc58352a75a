import { z } from 'zod';
import { JsonPatchOperationSchema } from '../domain/schemas.js';
import { PlanRequestSchema } from '../domain/plan-hints.js';
import { APPROVAL_STATUSES } from '../store/approval-repo.js';
import { CatalogRemovalSchema } from '../app/catalog/catalog-document.js';

/** REST request bodies: the routes parse with them and the OpenAPI document is generated from them. */
export const CreateBody = z.object({ config: z.unknown(), idempotencyKey: z.string().min(8).max(128).optional() });
export const ConfirmationBody = z.object({ reason: z.string().min(3).max(500) });
export const DeployBody = z.object({
  version: z.number().int().positive(),
  planHash: z.string().min(16).max(128),
  allocationPercent: z.number().gt(0).max(100).optional(),
  dryRun: z.boolean().default(false),
  idempotencyKey: z.string().min(8).max(128).optional(),
  confirmation: ConfirmationBody.optional(),
});
export const UpdateBody = z.object({
  version: z.number().int().positive(),
  patch: z.array(JsonPatchOperationSchema).min(1).max(100).optional(),
  config: z.unknown().optional(),
});
/** plan_experiment's input: the goal as rationale, structured change hints (no sampling over REST: without hints it is a 400 listing them). */
export const PlanBody = PlanRequestSchema;
export const TransitionBody = z.object({ version: z.number().int().positive(), reason: z.string().min(3).max(1000) });
export const StopBody = z.object({
  reason: z.string().min(3).max(1000),
  outcome: z.enum(['stopped', 'rolled_back', 'shipped']).default('stopped'),
  /** With outcome shipped: the variant to ship (default: the decision's). */
  variant: z.string().min(1).max(64).optional(),
  version: z.number().int().positive().optional(),
  confirmation: ConfirmationBody.optional(),
});
export const RevertShipBody = z.object({ reason: z.string().min(3).max(1000), confirmation: ConfirmationBody.optional() });

/** POST /v1/clock/advance: exactly one of hours, days or to (a simulated clock never moves back). */
export const AdvanceClockBody = z
  .object({
    hours: z.number().gt(0).max(8784).optional().describe('Hours to move forward, e.g. 36'),
    days: z.number().gt(0).max(366).optional().describe('Days to move forward, e.g. 1'),
    to: z.iso.datetime({ offset: true }).optional().describe('ISO 8601 time to move to, not earlier than now, e.g. "2026-01-08T00:00:00Z"'),
  })
  .strict();

/** POST /v1/approvals/:id/approve (reason optional, audited) and /reject (reason required). */
export const ApproveBody = z.object({ reason: z.string().min(3).max(500).optional().describe('Why, e.g. "guardrails reviewed with the home team"') });
export const RejectBody = z.object({ reason: z.string().min(3).max(500).describe('Why, e.g. "not during the holiday freeze"') });
/** GET /v1/approvals?status=pending&experiment=<id> */
export const ApprovalsQuery = z
  .object({
    status: z.enum(APPROVAL_STATUSES).optional(),
    experiment: z.string().optional(),
  })
  .transform(({ experiment, ...q }) => ({ ...q, ...(experiment ? { experimentId: experiment } : {}) }));

/**
 * POST /v1/catalog/plan and /apply: the catalog document stays open here and is checked by the catalog
 * service (unknown nested keys named, as for files); the OpenAPI document states it in full.
 */
export const CatalogChangeBody = z.object({
  mode: z.enum(['replace', 'merge']).describe('"merge": upsert the given entities, remove those in remove; "replace": the document is the complete catalog'),
  catalog: z.record(z.string(), z.unknown()).describe('A catalog document, as a catalog file: {"surfaces":[...],"content":[...],"metrics":[...]}'),
  remove: CatalogRemovalSchema.optional(),
});
export const CatalogApplyBody = CatalogChangeBody.extend({ dryRun: z.boolean().default(true).describe('true (default): plan only; false: write it') });
