import { z } from 'zod';
import { JsonPatchOperationSchema } from '../domain/schemas.js';

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
export const PlanBody = z.object({
  goal: z.string().min(3).max(500),
  surfaceId: z.string(),
  metricId: z.string().optional(),
  mde: z.number().gt(0).lt(10).optional(),
  durationDays: z.number().int().min(1).max(180).optional(),
  slotIds: z.array(z.string()).max(10).optional(),
  contentIds: z.array(z.string()).max(20).optional(),
  key: z.string().optional(),
  owner: z.string().max(120).optional(),
});
export const TransitionBody = z.object({ version: z.number().int().positive(), reason: z.string().min(3).max(1000) });
export const StopBody = z.object({
  reason: z.string().min(3).max(1000),
  outcome: z.enum(['stopped', 'rolled_back', 'shipped']).default('stopped'),
  version: z.number().int().positive().optional(),
  confirmation: ConfirmationBody.optional(),
});

/** POST /v1/clock/advance: exactly one of hours, days or to (a simulated clock never moves back). */
export const AdvanceClockBody = z
  .object({
    hours: z.number().gt(0).max(8784).optional().describe('Hours to move forward, e.g. 36'),
    days: z.number().gt(0).max(366).optional().describe('Days to move forward, e.g. 1'),
    to: z.iso.datetime({ offset: true }).optional().describe('ISO 8601 time to move to, not earlier than now, e.g. "2026-01-08T00:00:00Z"'),
  })
  .strict();
