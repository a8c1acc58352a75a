import type { Experiment, ExperimentConfig, JsonPatchOperation, Ranges } from '../domain/schemas.js';
import type { ValidationResult } from '../domain/rules/index.js';
import type { Confirmation } from '../store/audit-repo.js';
import type { DeployPlan } from './deploy-plan.js';

/** The shapes ExperimentService's use cases take and return (MCP tools and REST map them 1:1). */
export interface ValidateOutcome extends ValidationResult {
  experimentId: string | null;
  version: number | null;
  configHash: string | null;
  /** For a stored experiment: the hash deploy_to_surface must cite (config + surface policy judged). */
  planHash: string | null;
  policyVersion: string;
  recorded: boolean;
  /** Every finding's patch, identical operations once, for the config returned. */
  fixPatch: JsonPatchOperation[];
}


/** A confirmation as a caller gives it; the service names the action it confirms. */
export interface GivenConfirmation {
  via: Confirmation['via'];
  reason: string;
}

export interface ConfirmationStatus {
  required: boolean;
  /** Why the policy asks for it, when it does. */
  reason: string | null;
  /** What a human is asked to confirm, e.g. "start 'home-x' on home at 10% (1000 buckets)". */
  summary: string;
  /** The confirmation recorded with the change, when there was one. */
  given: Confirmation | null;
}

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
  confirmation?: GivenConfirmation;
}
