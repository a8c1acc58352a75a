import { z } from 'zod';

/** OFREP 0.3.0's reason set (`evaluationSuccess.reason`): the only reasons sealab answers. */
export const OFREP_REASONS = ['STATIC', 'TARGETING_MATCH', 'SPLIT', 'DISABLED', 'UNKNOWN'] as const;
export type OfrepReason = (typeof OFREP_REASONS)[number];

const Metadata = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

/**
 * sealab's OFREP answers in OFREP's own shapes (application/json, not problem JSON), for the OpenAPI
 * document; test/server/ofrep-spec.test.ts checks real answers against the public OFREP document.
 */
export const OfrepSchemas = {
  success: z.object({
    key: z.string(),
    value: z.string().describe('The variant key (experiment flag) or the content id served (slot flag; "" when the slot renders nothing)'),
    variant: z.string(),
    reason: z.enum(OFREP_REASONS),
    metadata: Metadata,
    cacheable: z.boolean().optional(),
  }),
  failure: z.object({
    key: z.string(),
    errorCode: z.enum(['PARSE_ERROR', 'TARGETING_KEY_MISSING', 'INVALID_CONTEXT', 'GENERAL']),
    errorDetails: z.string(),
  }),
  notFound: z.object({ key: z.string(), errorCode: z.literal('FLAG_NOT_FOUND'), errorDetails: z.string() }),
  bulkFailure: z.object({ errorCode: z.string(), errorDetails: z.string() }),
  configuration: z.looseObject({ name: z.string(), capabilities: z.looseObject({}) }),
};

export const OfrepBulkSchema = z.object({ flags: z.array(OfrepSchemas.success) });
