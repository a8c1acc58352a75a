import { missingApproval, RAMP_SCHEDULER_ACTOR } from '../policy.js';
import type { ExperimentConfig } from '../schemas.js';
import { defineRule, finding, type ValidationContext } from './types.js';

/** A draft starts at allocationPercent; a deployed experiment is already past its start. */
const isDraft = (ctx: ValidationContext) => !ctx.deployed;

/** The ramp stages every ramp finding proposes, so their patches agree: ascending, within policy, after the start. */
function proposedStages(c: ExperimentConfig, ctx: ValidationContext): number[] {
  const { firstStageCapPercent: cap, maxAllocationPercent: max } = ctx.policy;
  const start = isDraft(ctx) ? Math.min(c.allocationPercent, cap) : c.allocationPercent;
  const wanted = [...c.rampPlan.stages, ...(isDraft(ctx) && c.allocationPercent > cap ? [c.allocationPercent] : [])].map((s) => Math.min(s, max));
  return [...new Set(wanted)].filter((s) => s > start).sort((a, b) => a - b);
}

const stagesPatch = (c: ExperimentConfig, ctx: ValidationContext) => [{ op: 'add' as const, path: '/rampPlan/stages', value: proposedStages(c, ctx) }];

export const firstStageCapRule = defineRule({
  code: 'RAMP_FIRST_STAGE_ABOVE_CAP',
  family: 'ramp',
  severity: 'error',
  rationale: 'A new change first meets a small share of users, so a bug shows up on few of them; the policy caps the first stage.',
  fix: 'Start at most at the policy cap (allocationPercent) and move the larger allocation into rampPlan.stages.',
  patchable: true,
  check: (c, ctx) => {
    const cap = ctx.policy.firstStageCapPercent;
    if (!isDraft(ctx) || c.allocationPercent <= cap) return [];
    const stages = proposedStages(c, ctx);
    return [
      finding(
        firstStageCapRule,
        '$.allocationPercent',
        `the first stage (${c.allocationPercent}%) is above the ${c.surfaceId} policy cap of ${cap}% for a first ramp stage`,
        `Start at ${cap}% and ramp later: allocationPercent ${cap}, rampPlan.stages ${JSON.stringify(stages)}.`,
        [{ op: 'replace', path: '/allocationPercent', value: cap }, ...stagesPatch(c, ctx)],
      ),
    ];
  },
});

export const rampStagesRule = defineRule({
  code: 'RAMP_STAGES_INVALID',
  family: 'ramp',
  severity: 'error',
  rationale: 'A ramp only goes up, one stage at a time; stages out of order or below the start cannot be followed.',
  fix: 'List rampPlan.stages in ascending order, each above the starting allocation.',
  patchable: true,
  check: (c, ctx) => {
    const s = c.rampPlan.stages;
    const ordered = s.every((x, i) => i === 0 || x > s[i - 1]);
    const aboveStart = !isDraft(ctx) || s.every((x) => x > c.allocationPercent);
    if (ordered && aboveStart) return [];
    return [
      finding(
        rampStagesRule,
        '$.rampPlan.stages',
        `ramp stages ${JSON.stringify(s)} must be ascending${isDraft(ctx) ? ` and above the start (${c.allocationPercent}%)` : ''}`,
        `Use ${JSON.stringify(proposedStages(c, ctx))}.`,
        stagesPatch(c, ctx),
      ),
    ];
  },
});

export const rampAbovePolicyRule = defineRule({
  code: 'RAMP_ABOVE_POLICY',
  family: 'ramp',
  severity: 'error',
  rationale: 'A ramp plan that ends above the policy maximum could never be deployed to its end.',
  fix: 'Keep every stage at or below the policy maxAllocationPercent.',
  patchable: true,
  check: (c, ctx) => {
    const max = ctx.policy.maxAllocationPercent;
    return c.rampPlan.stages.some((x) => x > max)
      ? [
          finding(
            rampAbovePolicyRule,
            '$.rampPlan.stages',
            `ramp stages ${JSON.stringify(c.rampPlan.stages)} go above the policy maximum of ${max}%`,
            `End the ramp at ${max}% or below: ${JSON.stringify(proposedStages(c, ctx))}.`,
            stagesPatch(c, ctx),
          ),
        ]
      : [];
  },
});

export const rampOffPlanRule = defineRule({
  code: 'RAMP_OFF_PLAN',
  family: 'ramp',
  severity: 'error',
  rationale: 'Ramps follow the validated plan one stage at a time, so each stage gets looked at before more users see the change.',
  fix: 'Ramp to the next planned stage (rampPlan.stages); a bigger step needs a new experiment with a new plan.',
  patchable: true,
  check: (c, ctx) => {
    const from = ctx.deployed?.allocationPercent;
    if (from === undefined || c.allocationPercent <= from) return [];
    const next = c.rampPlan.stages.find((s) => s > from);
    if (next !== undefined && c.allocationPercent <= next) return [];
    const msg =
      next === undefined
        ? `ramping from ${from}% to ${c.allocationPercent}% goes beyond the ramp plan ${JSON.stringify(c.rampPlan.stages)}`
        : `ramping from ${from}% to ${c.allocationPercent}% skips the next planned stage, ${next}%`;
    return [
      finding(
        rampOffPlanRule,
        '$.allocationPercent',
        msg,
        next === undefined ? `Stay at ${from}%: the plan has no further stage.` : `Ramp to ${next}% first.`,
        next === undefined ? undefined : [{ op: 'replace', path: '/allocationPercent', value: next }],
      ),
    ];
  },
});

export const rampBeyondSchedulerRule = defineRule({
  code: 'RAMP_BEYOND_SCHEDULER',
  family: 'ramp',
  severity: 'warning',
  rationale:
    'The ramp scheduler deploys as system:ramp-scheduler under the same allocation approvals as anyone: stages above what the policy lets it reach stop the ramp until an approved caller advances it.',
  fix: 'End the ramp at the highest stage the scheduler may reach by itself, or plan for an approved caller to call advance_ramp for the stages above it.',
  patchable: true,
  check: (c, ctx) => {
    const beyond = c.rampPlan.stages.filter((x) => missingApproval(ctx.policy, RAMP_SCHEDULER_ACTOR, x));
    if (!beyond.length) return [];
    const rule = missingApproval(ctx.policy, RAMP_SCHEDULER_ACTOR, beyond[0])!;
    const kept = c.rampPlan.stages.filter((x) => !beyond.includes(x));
    const end = rule.abovePercent > Math.max(c.allocationPercent, ...kept) ? [...kept, rule.abovePercent] : kept;
    return [
      finding(
        rampBeyondSchedulerRule,
        '$.rampPlan.stages',
        `ramp stages ${JSON.stringify(beyond)} are above ${rule.abovePercent}%, where the ${c.surfaceId} policy lets only ${rule.actors.join(', ')} deploy: the scheduler will stop the ramp at ${Math.max(c.allocationPercent, ...kept)}% until one of them calls advance_ramp`,
        `End the ramp at ${rule.abovePercent}% (rampPlan.stages ${JSON.stringify(end)}), or have an approved caller (${rule.actors.join(', ')}) call advance_ramp for the stages above it.`,
        [{ op: 'add', path: '/rampPlan/stages', value: end }],
      ),
    ];
  },
});
