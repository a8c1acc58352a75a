import { canonicalJson } from '../canonical.js';
import { ExperimentConfigSchema, type ExperimentConfig, type Finding, type JsonPatchOperation } from '../schemas.js';
import { allocationAbovePolicyRule, allocationTooSmallRule } from './allocation.js';
import { collisionRule, duplicateOfRunningRule, slotConcurrencyRule } from './collisions.js';
import {
  contentMissingUpstreamRule,
  contentNotOnPlatformRule,
  platformNotOnSurfaceRule,
  slotContentMismatchRule,
  unknownContentRule,
  unknownSlotRule,
  unknownSurfaceRule,
} from './compatibility.js';
import { freezeAheadRule, freezeWindowRule } from './freeze.js';
import { LAYOUT_RULES } from './layout.js';
import {
  duplicateMetricRule,
  guardrailMarginRule,
  guardrailNotQualifiedRule,
  metricDirectionRule,
  metricRoleConflictRule,
  missingGuardrailRule,
  requiredGuardrailRule,
  unknownMetricRule,
} from './metrics.js';
import { durationRule, guardrailUnderpoweredRule, mdeRangeRule, powerSummary, underpoweredRule, unplannableRule, type PowerSummary } from './power.js';
import { firstStageCapRule, rampAbovePolicyRule, rampBeyondSchedulerRule, rampOffPlanRule, rampStagesRule } from './ramp.js';
import { keyNamingRule, schemaRule } from './schema.js';
import type { Rule, ValidationContext } from './types.js';
import { controlCountRule, duplicateVariantRule, emptyTreatmentRule, tooManyVariantsRule, weightsSumRule } from './variants.js';

export type { Rule, RuleFamily, ValidationContext } from './types.js';
export type { PowerSummary } from './power.js';
export { conflicts, holdbackRanges } from './collisions.js';
export { targetPercent } from './power.js';

/**
 * The catalog, in the order rules run. Order matters only for patches that touch the same field:
 * allocation caps run before the ramp rules, so a ramp patch has the last word on allocationPercent.
 */
export const RULES: Rule[] = [
  schemaRule,
  keyNamingRule,
  controlCountRule,
  duplicateVariantRule,
  tooManyVariantsRule,
  weightsSumRule,
  emptyTreatmentRule,
  unknownSurfaceRule,
  unknownSlotRule,
  unknownContentRule,
  contentMissingUpstreamRule,
  slotContentMismatchRule,
  contentNotOnPlatformRule,
  platformNotOnSurfaceRule,
  ...LAYOUT_RULES,
  unknownMetricRule,
  duplicateMetricRule,
  requiredGuardrailRule,
  missingGuardrailRule,
  guardrailMarginRule,
  guardrailNotQualifiedRule,
  metricRoleConflictRule,
  metricDirectionRule,
  allocationAbovePolicyRule,
  allocationTooSmallRule,
  collisionRule,
  slotConcurrencyRule,
  duplicateOfRunningRule,
  firstStageCapRule,
  rampStagesRule,
  rampAbovePolicyRule,
  rampBeyondSchedulerRule,
  rampOffPlanRule,
  freezeWindowRule,
  freezeAheadRule,
  durationRule,
  mdeRangeRule,
  unplannableRule,
  underpoweredRule,
  guardrailUnderpoweredRule,
];

export interface ValidationResult {
  valid: boolean;
  findings: Finding[];
  /** The config as judged, defaults filled: finding patches apply to it. */
  config?: ExperimentConfig;
  power?: PowerSummary;
}

const jsonPath = (path: PropertyKey[]) => `$${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;

/** Pure: judges a config against the catalog, the running experiments and the policy. Findings are data. */
export function validateExperimentConfig(input: unknown, ctx: ValidationContext): ValidationResult {
  const parsed = ExperimentConfigSchema.safeParse(input);
  if (!parsed.success) {
    const findings = parsed.error.issues.map((i) => ({
      code: schemaRule.code,
      severity: schemaRule.severity,
      path: jsonPath(i.path),
      message: i.message,
      fix: schemaRule.fix,
    }));
    return { valid: false, findings };
  }
  const config = parsed.data;
  const findings = RULES.flatMap((rule) => rule.check(config, ctx));
  return { valid: !findings.some((x) => x.severity === 'error'), findings, config, power: powerSummary(config, ctx) };
}

/** Every finding's patch in catalog order, identical operations once: apply it to ValidationResult.config. */
export function combinedPatch(findings: Finding[]): JsonPatchOperation[] {
  const seen = new Set<string>();
  return findings
    .flatMap((f) => f.patch ?? [])
    .filter((op) => {
      const k = canonicalJson(op);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
}

/** What the sealab://rules resource shows: why each rule exists and how to fix it. */
export const ruleCatalog = () => RULES.map(({ code, family, severity, rationale, fix, patchable }) => ({ code, family, severity, rationale, fix, patchable }));
