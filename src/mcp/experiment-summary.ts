import { z } from 'zod';
import type { Container } from '../container.js';
import { ExperimentConfigSchema, ExperimentSchema, ExperimentStatus, Outcome, type Experiment } from '../domain/schemas.js';
import type { ResourceLinkItem } from './define-tool.js';
import { listedAs } from './listed-schema.js';

/**
 * What a write tool answers about the experiment it changed: enough to take the next step (id,
 * version, status, allocation, plan hash), with a resource link to the full record instead of it.
 */
const SUMMARY_OBJECT = z
  .object({
    id: z.string(),
    key: z.string(),
    surfaceId: z.string(),
    status: ExperimentStatus,
    outcome: Outcome.nullable(),
    version: z.number().int(),
    allocationPercent: z.number(),
    planHash: z.string().nullable(),
  })
  .describe('After this step; in full: sealab://experiment/{id}');
const str = { type: 'string' };
export const ExperimentSummarySchema = listedAs(SUMMARY_OBJECT, {
  type: 'object',
  description: 'After this step; in full: sealab://experiment/{id}. planHash is null for a draft (validate_config gives it)',
  properties: {
    id: str,
    key: str,
    surfaceId: str,
    status: str,
    outcome: { anyOf: [str, { type: 'null' }] },
    version: { type: 'integer' },
    allocationPercent: { type: 'number' },
    planHash: { anyOf: [str, { type: 'null' }] },
  },
});
export type ExperimentSummary = z.infer<typeof ExperimentSummarySchema>;

const CONFIG_SHAPE = "An experiment config: create_experiment's config shape";

/** A whole config in an answer (validate_config, plan_experiment): listed by name, since create_experiment's input spells it out. */
export const ConfigAnswerSchema = listedAs(ExperimentConfigSchema.describe(CONFIG_SHAPE), { type: 'object', description: CONFIG_SHAPE });

/** A whole config as an alternative input (update_experiment): same. */
export const ConfigInputSchema = (description: string) => listedAs(ExperimentConfigSchema.describe(description), { type: 'object', description });

/** The full experiment (get_experiment): its top level listed, the nested config parts as plain objects and arrays. */
export const ExperimentAnswerSchema = listedAs(
  ExperimentSchema.describe('The experiment: its config fields (create_experiment) plus id, status, outcome, version, buckets and times'),
  {
    type: 'object',
    description: "create_experiment's config fields plus id, status, outcome, version, buckets, createdAt, updatedAt, startedAt, endedAt",
    properties: { id: { type: 'string' }, key: { type: 'string' }, status: { type: 'string' }, version: { type: 'integer' } },
  },
);

export function summaryOf(app: Container, e: Experiment): ExperimentSummary {
  return {
    id: e.id,
    key: e.key,
    surfaceId: e.surfaceId,
    status: e.status,
    outcome: e.outcome,
    version: e.version,
    allocationPercent: e.allocationPercent,
    planHash: e.status === 'draft' ? null : app.experiments.planHashOf(e),
  };
}

/** The resource link a compact answer carries to the full record. */
export const experimentLink = (e: Pick<Experiment, 'id' | 'key'>): ResourceLinkItem => ({
  uri: `sealab://experiment/${e.id}`,
  name: e.key,
  description: 'The full experiment (config, status, buckets) and its recent audit trail',
  mimeType: 'application/json',
});
