import type { JsonPatchOperation } from '../../domain/schemas.js';
import type { ValidationResult } from '../../domain/rules/index.js';
import type { Confirmation } from '../../store/audit-repo.js';
import type { ConfirmationMode } from '../../domain/policy.js';

/** The shapes the experiment use cases take and return (MCP tools and REST map them 1:1). */
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
  approvalId?: string;
  approvedBy?: string;
}

export interface ConfirmationStatus {
  required: boolean;
  /** How the policy wants it confirmed (src/domain/policy.ts); absent on outcomes stored before modes existed. */
  mode?: ConfirmationMode;
  /** Why the policy asks for it, when it does. */
  reason: string | null;
  /** What a human is asked to confirm, e.g. "start 'home-x' on home at 10% (1000 buckets)". */
  summary: string;
  /** The confirmation recorded with the change, when there was one. */
  given: Confirmation | null;
}
