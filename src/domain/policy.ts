import { z } from 'zod';
import { hashOf } from './canonical.js';
import { GuardrailTest, Id, MarginType } from './schemas.js';

/**
 * The guardrail policy in force, as data: a file per deployment (policy/default.json ships with
 * sealab), validated at start. `defaults` is a complete surface policy; `surfaces` override it per
 * surface, key by key. Validation, deploy and confirmations read the resolved surface policy.
 */

const Percent = z.number().gt(0).max(100);
const DEFAULT_BLIND_GRACE_HOURS = 24;
const Instant = z.iso.datetime({ offset: true });

export const RequiredGuardrailSchema = z
  .strictObject({
    metricId: Id.describe('Guardrail metric every experiment on the surface must carry, e.g. "crash-rate"'),
    maxMargin: z.number().positive().describe('Largest margin allowed for it, in marginType units, e.g. 0.02 (relative: 2% of the control mean)'),
    marginType: MarginType.default('relative').describe('How maxMargin is stated: "relative" to the control mean or "absolute" in the metric\'s unit'),
    test: GuardrailTest.default('non_inferiority').describe(
      '"non_inferiority": experiments must prove it is not worse by more than the margin; "no_deterioration": they may judge it only by "not significantly worse" (rare events such as crash-rate, whose non-inferiority proof needs millions of units)',
    ),
  })
  .refine((r) => r.marginType === 'absolute' || r.maxMargin <= 1, { message: 'a relative maxMargin is at most 1 (100%)', path: ['maxMargin'] });

export const FreezeWindowSchema = z
  .strictObject({
    start: Instant.describe('ISO 8601 start, e.g. "2026-12-20T00:00:00Z"'),
    end: Instant.describe('ISO 8601 end (exclusive)'),
    reason: z.string().min(1).max(200),
  })
  .refine((w) => Date.parse(w.start) < Date.parse(w.end), { message: 'start must be before end' });

export const AllocationApprovalSchema = z.strictObject({
  abovePercent: Percent.describe('Deploying above this allocation needs one of the actors below'),
  actors: z.array(z.string().min(1)).min(1).describe('Audit actor patterns allowed, "*" matches any run of characters, e.g. "client:*"'),
});

/**
 * How a step is confirmed: "none"; "confirm" (an elicitation form, else the caller's confirmation
 * argument); "elicit" (a form only: argument confirmations are refused); "approval" (a form when the
 * client can show one, else a pending approval request that a principal with the approve scope
 * decides). Booleans keep their old meaning: true is "confirm", false is "none".
 */
export const CONFIRMATION_MODES = ['none', 'confirm', 'elicit', 'approval'] as const;
export type ConfirmationMode = (typeof CONFIRMATION_MODES)[number];
const Mode = z.enum(CONFIRMATION_MODES);
const ModeOrFlag = z.union([z.boolean(), Mode]);

export const ConfirmationPolicySchema = z.strictObject({
  deploy: ModeOrFlag.describe('Starting or resuming: true/"confirm", "elicit", "approval", or false/"none"'),
  rampAbovePercent: Percent.describe('Ramping to an allocation above this needs a confirmation'),
  ramp: Mode.optional().describe('How a ramp above rampAbovePercent is confirmed (default "confirm")'),
  stop: ModeOrFlag.describe('Stopping (kill switch, roll back, revert a ship): true/"confirm", "elicit", "approval", or false/"none"'),
  ship: ModeOrFlag.describe('Concluding with a ship decision: true/"confirm", "elicit", "approval", or false/"none"'),
  stopOthers: Mode.optional().describe(
    'Stopping, rolling back, shipping or reverting an experiment another principal created needs at least this mode, e.g. "approval"',
  ),
  allowSelfApproval: z.boolean().optional().describe('Whether the requester may decide its own approval request (default false)'),
  approvalTtlHours: z.number().gt(0).max(720).optional().describe('Hours an approval request stays open (default 24)'),
});

const SurfacePolicyShape = z.strictObject({
  requiredGuardrails: z.array(RequiredGuardrailSchema),
  minGuardrails: z.number().int().min(0),
  maxAllocationPercent: Percent,
  maxConcurrentPerSlot: z.number().int().min(1),
  firstStageCapPercent: Percent,
  minDurationDays: z.number().int().positive(),
  maxDurationDays: z.number().int().positive(),
  mdeRange: z.strictObject({ min: z.number().gt(0), max: z.number().gt(0) }),
  maxVariants: z.number().int().min(2),
  freezeWindows: z.array(FreezeWindowSchema),
  allocationApprovals: z.array(AllocationApprovalSchema),
  confirmation: ConfirmationPolicySchema,
  blindGraceHours: z.number().min(0).describe('Hours a success or guardrail metric may have no data in an arm that has units before the ramp pauses, e.g. 24'),
});

/** Cross-field rules, checked on the defaults and on every surface's resolved policy. */
function coherent(p: z.infer<typeof SurfacePolicyShape>): { path: string[]; message: string }[] {
  const out: { path: string[]; message: string }[] = [];
  if (p.minDurationDays > p.maxDurationDays) out.push({ path: ['minDurationDays'], message: 'must not exceed maxDurationDays' });
  if (p.mdeRange.min > p.mdeRange.max) out.push({ path: ['mdeRange', 'min'], message: 'must not exceed mdeRange.max' });
  if (p.firstStageCapPercent > p.maxAllocationPercent) out.push({ path: ['firstStageCapPercent'], message: 'must not exceed maxAllocationPercent' });
  return out;
}

export const SurfacePolicySchema = SurfacePolicyShape.superRefine((p, ctx) => {
  for (const issue of coherent(p)) ctx.addIssue({ code: 'custom', ...issue });
});
export type SurfacePolicy = z.infer<typeof SurfacePolicySchema>;

export const PolicySchema = z
  .strictObject({
    version: z.string().min(1).max(64).describe('Label of this policy revision, e.g. "2026-11-01"'),
    description: z.string().max(2000).optional(),
    srmThreshold: z.number().gt(0).lt(1).describe('p-value below which a sample-ratio mismatch is flagged'),
    // Policy files written before blindGraceHours existed still load, with its default.
    defaults: z.preprocess(
      (v) => (v && typeof v === 'object' && !('blindGraceHours' in v) ? { ...v, blindGraceHours: DEFAULT_BLIND_GRACE_HOURS } : v),
      SurfacePolicySchema,
    ),
    surfaces: z.record(Id, SurfacePolicyShape.partial()).default({}).describe('Per-surface overrides of the defaults, key by key'),
  })
  .superRefine((doc, ctx) => {
    for (const [id, override] of Object.entries(doc.surfaces)) {
      for (const issue of coherent({ ...doc.defaults, ...override }))
        ctx.addIssue({ code: 'custom', path: ['surfaces', id, ...issue.path], message: `${issue.message} (with the defaults applied)` });
    }
  });
export type Policy = z.infer<typeof PolicySchema>;

/** The built-in baseline; policy/default.json states the same defaults (a test keeps them equal). */
export const DEFAULT_SURFACE_POLICY: SurfacePolicy = {
  // crash-rate (0.4% baseline) cannot be proven non-inferior at a useful margin without millions of
  // units per arm; the default judges it by "not significantly worse", which stops a real regression.
  requiredGuardrails: [{ metricId: 'crash-rate', maxMargin: 0.02, marginType: 'relative', test: 'no_deterioration' }],
  minGuardrails: 1,
  maxAllocationPercent: 50,
  maxConcurrentPerSlot: 2,
  firstStageCapPercent: 10,
  minDurationDays: 7,
  maxDurationDays: 60,
  mdeRange: { min: 0.005, max: 0.5 },
  maxVariants: 5,
  freezeWindows: [],
  allocationApprovals: [{ abovePercent: 25, actors: ['client:*', 'rest:*'] }],
  confirmation: { deploy: true, rampAbovePercent: 10, stop: true, ship: true },
  blindGraceHours: DEFAULT_BLIND_GRACE_HOURS,
};

export const DEFAULT_POLICY: Policy = { version: 'builtin', srmThreshold: 0.001, defaults: DEFAULT_SURFACE_POLICY, surfaces: {} };

/** The defaults with the surface's overrides applied. */
export function resolveSurfacePolicy(policy: Policy, surfaceId: string): SurfacePolicy {
  return { ...policy.defaults, ...(policy.surfaces[surfaceId] ?? {}) } as SurfacePolicy;
}

/** Identifies exactly the rules a surface is judged by: any change to them changes it. */
export const surfacePolicyHash = (policy: Policy, surfaceId: string) => hashOf(resolveSurfacePolicy(policy, surfaceId));

/** A plan hash names one config judged under one surface policy; deploy must cite a current one. */
export const planHashOf = (config: unknown, policyHash: string) => hashOf({ config, policy: policyHash });

/** The freeze window `at` falls in, if any. */
export function activeFreeze(p: SurfacePolicy, at: Date): SurfacePolicy['freezeWindows'][number] | undefined {
  const t = at.getTime();
  return p.freezeWindows.find((w) => Date.parse(w.start) <= t && t < Date.parse(w.end));
}

const globToRegExp = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

/** The approval rule an actor fails for deploying at `percent`, or undefined when allowed. */
export function missingApproval(p: SurfacePolicy, actor: string, percent: number): SurfacePolicy['allocationApprovals'][number] | undefined {
  return p.allocationApprovals.find((rule) => percent > rule.abovePercent && !rule.actors.some((a) => globToRegExp(a).test(actor)));
}

/** The audit actor of the ramp scheduler: allocation approvals decide how far it may ramp on its own. */
export const RAMP_SCHEDULER_ACTOR = 'system:ramp-scheduler';

/** The highest of `candidates` the ramp scheduler may reach by itself under the policy's allocation approvals. */
export function schedulerReach(p: SurfacePolicy, candidates: number[]): number | undefined {
  return candidates.filter((x) => !missingApproval(p, RAMP_SCHEDULER_ACTOR, x)).sort((a, b) => b - a)[0];
}

/** `othersExperiment`: the caller is not the principal who created the experiment. */
export type ConfirmableAction =
  | { kind: 'start' | 'resume' | 'resize' | 'noop'; fromPercent: number; toPercent: number }
  | { kind: 'stop' | 'ship'; othersExperiment?: boolean };

/** The principal behind an audit actor: REST prefixes `rest:` to the principal HTTP MCP uses as its actor. */
export const principalOf = (actor: string) => (actor.startsWith('rest:') ? actor.slice('rest:'.length) : actor);

/** The stricter of two modes (none < confirm < elicit < approval). */
const stricter = (a: ConfirmationMode, b: ConfirmationMode | undefined): ConfirmationMode =>
  b !== undefined && CONFIRMATION_MODES.indexOf(b) > CONFIRMATION_MODES.indexOf(a) ? b : a;

/** Whether the mode of this stop or ship comes from `stopOthers` (another principal's experiment) rather than its own key. */
const byOthersRule = (p: SurfacePolicy, a: ConfirmableAction) =>
  (a.kind === 'stop' || a.kind === 'ship') &&
  a.othersExperiment === true &&
  stricter(modeOf(p.confirmation[a.kind]), p.confirmation.stopOthers) !== modeOf(p.confirmation[a.kind]);

const modeOf = (m: boolean | ConfirmationMode | undefined): ConfirmationMode => (m === true ? 'confirm' : m === false ? 'none' : (m ?? 'confirm'));

/** How the policy wants this action confirmed; "none" when it does not. */
export function confirmationMode(p: SurfacePolicy, a: ConfirmableAction): ConfirmationMode {
  switch (a.kind) {
    case 'start':
    case 'resume':
      return modeOf(p.confirmation.deploy);
    case 'resize':
      return a.toPercent > a.fromPercent && a.toPercent > p.confirmation.rampAbovePercent ? modeOf(p.confirmation.ramp) : 'none';
    case 'stop':
    case 'ship':
      return a.othersExperiment ? stricter(modeOf(p.confirmation[a.kind]), p.confirmation.stopOthers) : modeOf(p.confirmation[a.kind]);
    default:
      return 'none';
  }
}

/** Why the policy wants a human to confirm this action, or null when it does not. */
export function confirmationReason(p: SurfacePolicy, a: ConfirmableAction): string | null {
  const mode = confirmationMode(p, a);
  if (mode === 'none') return null;
  const what = mode === 'approval' ? "a person's approval" : mode === 'elicit' ? "a person's confirmation through a form" : 'a confirmation';
  switch (a.kind) {
    case 'start':
    case 'resume':
      return `the policy asks for ${what} to ${a.kind} an experiment`;
    case 'resize':
      return `a ramp to ${a.toPercent}% passes the ${p.confirmation.rampAbovePercent}% ${mode === 'confirm' ? 'confirmation' : mode} threshold`;
    case 'stop':
      return `the policy asks for ${what} to stop an experiment${byOthersRule(p, a) ? ' another principal created' : ''}`;
    default:
      return `the policy asks for ${what} to ship${byOthersRule(p, a) ? ' an experiment another principal created' : ''}`;
  }
}

/** Approval requests' rules on a surface: whether a requester may decide its own, and how long one stays open. */
export function approvalRules(p: SurfacePolicy): { allowSelfApproval: boolean; ttlHours: number } {
  return { allowSelfApproval: p.confirmation.allowSelfApproval ?? false, ttlHours: p.confirmation.approvalTtlHours ?? 24 };
}
