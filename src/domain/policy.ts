import { z } from 'zod';

/** The guardrail policy in force. Validation reads it; a later issue makes it a file per deployment. */
export const PolicySchema = z.object({
  minGuardrails: z.number().int().min(0),
  maxAllocationPercent: z.number().gt(0).max(100),
  maxDurationDays: z.number().int().positive(),
  minDurationDays: z.number().int().positive(),
  maxVariants: z.number().int().min(2),
  srmThreshold: z.number().gt(0).lt(1),
});
export type Policy = z.infer<typeof PolicySchema>;

export const DEFAULT_POLICY: Policy = {
  minGuardrails: 1,
  maxAllocationPercent: 50,
  maxDurationDays: 60,
  minDurationDays: 7,
  maxVariants: 5,
  srmThreshold: 0.001,
};
