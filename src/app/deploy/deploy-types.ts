import type { Experiment, ExperimentConfig, Ranges } from '../../domain/schemas.js';
import type { ConfirmationStatus, GivenConfirmation } from '../experiments/experiment-types.js';
import type { DeployPlan } from './deploy-plan.js';

/** The shapes deploy, ramp and stop take and return (MCP tools and REST map them 1:1). */
export interface DeployOutcome {
  experiment: Experiment;
  plan: DeployPlan;
  applied: boolean;
  replayed: boolean;
  /** The plan hash of the config now in force: cite it for the next deploy (ramp, resume). */
  planHash: string;
  confirmation: ConfirmationStatus;
}

export interface DeployInput {
  experimentId: string;
  version: number;
  planHash: string;
  allocationPercent?: number;
  dryRun?: boolean;
  idempotencyKey?: string;
  confirmation?: GivenConfirmation;
}

/** A deploy checked and planned but not yet written: what the saga carries to the systems. */
export interface PreparedDeploy {
  exp: Experiment;
  plan: DeployPlan;
  buckets: Ranges;
  config: ExperimentConfig;
  confirmation: ConfirmationStatus;
}

export interface AdvanceInput {
  experimentId: string;
  version: number;
  toPercent: number;
}

export interface StopInput {
  experimentId: string;
  version?: number;
  reason: string;
  outcome?: 'stopped' | 'rolled_back' | 'shipped';
  /** With outcome 'shipped': the variant to ship (default: the one the decision names). */
  variant?: string;
  confirmation?: GivenConfirmation;
}

export interface RevertShipInput {
  experimentId: string;
  reason: string;
  confirmation?: GivenConfirmation;
}
