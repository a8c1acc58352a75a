import { z } from 'zod';
import type { Container } from '../container.js';
import { ExperimentConfigSchema, ExperimentSchema, ExperimentStatus, Outcome, type Experiment } from '../domain/schemas.js';
import type { ResourceLinkItem } from './define-tool.js';
import { listedAs, topLevelOf } from './listed-schema.js';

/**
 * What a write tool answers about the experiment it changed: enough to take the next step (id,
 * version, status, allocation, plan hash), with a resource link to the full record instead of it.
 */
export const ExperimentSummarySchema = z
  .object({
    id: z.string(),
    key: z.string(),
    surfaceId: z.string(),
    status: ExperimentStatus,
    outcome: Outcome.nullable(),
    version: z.number().int().describe('Cite it in the next write'),
    allocationPercent: z.number(),
    planHash: z.string().nullable().describe('Plan hash of the config in force, to cite in deploy_to_surface / advance_ramp; null for a draft: validate_config gives it'),
  })
  .describe('The experiment after this step; the full record is the resource sealab://experiment/{id} (get_experiment)');
export type ExperimentSummary = z.infer<typeof ExperimentSummarySchema>;

const CONFIG_SHAPE = "An experiment config: create_experiment's config shape";

/** A whole config in an answer (validate_config, plan_experiment): listed by name, since create_experiment's input spells it out. */
export const ConfigAnswerSchema = listedAs(ExperimentConfigSchema.describe(CONFIG_SHAPE), { type: 'object', description: CONFIG_SHAPE });

/** A whole config as an alternative input (update_experiment): same. */
export const ConfigInputSchema = (description: string) => listedAs(ExperimentConfigSchema.describe(description), { type: 'object', description });

/** The full experiment (get_experiment): its top level listed, the nested config parts as plain objects and arrays. */
export const ExperimentAnswerSchema = listedAs(
  ExperimentSchema.describe('The experiment: its config fields (create_experiment) plus id, status, outcome, version, buckets and times'),
  topLevelOf(ExperimentSchema, "The experiment: create_experiment's config fields plus id, status, outcome, version, buckets and times"),
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
