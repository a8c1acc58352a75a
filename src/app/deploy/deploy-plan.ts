import { bucketsForPercent, freeRanges, rangesSize, resizeAllocation } from '../../domain/assignment.js';
import { HOLDS_BUCKETS } from '../../domain/lifecycle.js';
import { conflicts, holdbackRanges } from '../../domain/rules/index.js';
import type { Experiment, Ranges } from '../../domain/schemas.js';
import { AppError } from '../../errors.js';
import type { ConfigRepos } from '../../store/sql/config-repos.js';

export interface DeployPlan {
  action: 'start' | 'resize' | 'resume' | 'noop';
  fromPercent: number;
  toPercent: number;
  bucketsBefore: number;
  bucketsAfter: number;
  collidingWith: string[];
}

/** What a human is asked to confirm: the change, its allocation, its slots and guardrails. */
export function deploySummary(exp: Experiment, plan: DeployPlan): string {
  const slots = [...new Set(exp.variants.flatMap((v) => v.overrides.map((o) => o.slotId)))].join(', ') || 'no slots';
  const guardrails = exp.guardrails.map((g) => `${g.metricId} (margin ${g.margin})`).join(', ') || 'none';
  return `${plan.action} '${exp.key}' on ${exp.surfaceId}: ${plan.fromPercent}% → ${plan.toPercent}% of traffic (${plan.bucketsAfter} buckets), slots ${slots}; guardrails ${guardrails}`;
}

/** The buckets the experiment would own at `toPercent`, first fit among those free of conflicting experiments and holdbacks. */
export async function planBuckets(r: ConfigRepos, exp: Experiment, toPercent: number): Promise<{ plan: DeployPlan; buckets: Ranges }> {
  const surface = (await r.catalog.surface(exp.surfaceId))!;
  const colliding = (await r.experiments.list({ surfaceId: exp.surfaceId, status: HOLDS_BUCKETS })).filter((e) => e.id !== exp.id && conflicts(e, exp));
  const free = freeRanges(surface.bucketCount, [...colliding.flatMap((e) => e.buckets), ...holdbackRanges({ surface }), ...exp.buckets]);
  const target = bucketsForPercent(surface.bucketCount, toPercent);
  const buckets = resizeAllocation(exp.buckets, free, target);
  if (!buckets) {
    throw new AppError(
      'CONFLICT',
      `only ${rangesSize(free) + rangesSize(exp.buckets)} of the ${target} buckets needed are free of colliding experiments (${colliding.map((e) => e.key).join(', ')})`,
      'Call validate_config to see the collision finding, then lower the allocation or use other slots.',
      { collidingWith: colliding.map((e) => e.id) },
    );
  }
  const before = rangesSize(exp.buckets);
  const action: DeployPlan['action'] =
    exp.status === 'draft' ? 'start' : exp.status === 'paused' ? 'resume' : before === target && toPercent === exp.allocationPercent ? 'noop' : 'resize';
  return {
    plan: {
      action,
      fromPercent: exp.status === 'draft' ? 0 : exp.allocationPercent,
      toPercent,
      bucketsBefore: before,
      bucketsAfter: target,
      collidingWith: colliding.map((e) => e.key),
    },
    buckets,
  };
}
