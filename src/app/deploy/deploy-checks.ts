import type { Experiment, ExperimentConfig } from '../../domain/schemas.js';
import type { ValidationResult } from '../../domain/rules/index.js';
import { hashOf } from '../../domain/canonical.js';
import { missingApproval, type SurfacePolicy } from '../../domain/policy.js';
import { configOf } from '../../store/experiment-repo.js';
import { AppError } from '../../errors.js';
import type { Policy } from '../../domain/policy.js';
import type { ConfigRepos } from '../../store/sql/config-repos.js';
import type { DeployInput } from './deploy-types.js';

/** Deploy's refusals, each with the reason and the fix an agent needs. */

export const revalidateHint = (exp: Experiment) =>
  `Call validate_config with experimentId '${exp.id}', fix every error finding, then deploy_to_surface with the planHash it returns.`;

/** The cited plan hash must be the current one: this config, this policy, validated and passing. */
export async function requireCurrentPlan(r: ConfigRepos, policy: Policy, exp: Experiment, cited: string, current: string): Promise<void> {
  const verdict = await r.validations.byPlanHash(exp.id, current);
  const refuse = (message: string, reason: string) => {
    throw new AppError('PRECONDITION_FAILED', message, revalidateHint(exp), { reason, policyVersion: policy.version });
  };
  if (cited !== current) {
    const old = await r.validations.byPlanHash(exp.id, cited);
    if (!old)
      refuse(
        verdict
          ? `plan hash '${cited.slice(0, 12)}…' was not issued by validate_config for '${exp.key}'`
          : `the current config of '${exp.key}' (v${exp.version}) has not been validated`,
        verdict ? 'unknown_plan' : 'not_validated',
      );
    else if (old.configHash !== hashOf(configOf(exp)))
      refuse(`the config of '${exp.key}' changed after plan '${cited.slice(0, 12)}…' was validated (v${old.version} → v${exp.version})`, 'config_changed');
    else refuse(`the ${exp.surfaceId} policy changed after plan '${cited.slice(0, 12)}…' was validated (now '${policy.version}')`, 'policy_changed');
  }
  if (!verdict) refuse(`the current config of '${exp.key}' (v${exp.version}) has not been validated`, 'not_validated');
  else if (!verdict.valid)
    refuse(
      `the current config of '${exp.key}' (v${exp.version}) failed validation: ${verdict.findings
        .filter((f) => f.severity === 'error')
        .map((f) => f.code)
        .join(', ')}`,
      'failed_validation',
    );
}

/** Judges the config to deploy as of now; a collision is a CONFLICT carrying the finding, anything else a failed precondition. */
export function requirePassing(exp: Experiment, config: ExperimentConfig, again: ValidationResult): void {
  if (again.valid) return;
  const errors = again.findings.filter((x) => x.severity === 'error');
  const collision = errors.some((x) => ['COLLISION', 'SLOT_CONCURRENCY', 'DUPLICATE_OF_RUNNING'].includes(x.code));
  const what = config.allocationPercent === exp.allocationPercent ? `deploying '${exp.key}' now` : `allocation ${config.allocationPercent}%`;
  throw new AppError(
    collision ? 'CONFLICT' : 'PRECONDITION_FAILED',
    `${what} fails validation: ${errors.map((x) => `${x.code} (${x.message})`).join('; ')}`,
    collision
      ? 'Another experiment took the slot or buckets since you validated: call validate_config to see the collision finding and its fix.'
      : `Call validate_config${config.allocationPercent === exp.allocationPercent ? '' : ' with the new allocation'} to see the findings and fixes.`,
    { findings: errors },
  );
}

export function requireApproval(policy: SurfacePolicy, actor: string, percent: number): void {
  const rule = missingApproval(policy, actor, percent);
  if (rule) {
    throw new AppError(
      'FORBIDDEN',
      `'${actor}' may not deploy above ${rule.abovePercent}% on this surface (policy allows ${rule.actors.join(', ')})`,
      `Deploy at ${rule.abovePercent}% or less with deploy_to_surface, or ask an allowed caller to ramp further.`,
      { abovePercent: rule.abovePercent, allowedActors: rule.actors },
    );
  }
}

/** What identifies a deploy request for idempotency: not the dry-run flag nor how it was confirmed. */
export function deployRequestHash(input: DeployInput): string {
  return hashOf({ experimentId: input.experimentId, version: input.version, planHash: input.planHash, allocationPercent: input.allocationPercent });
}
