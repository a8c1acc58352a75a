import { activeFreeze } from '../policy.js';
import { defineRule, finding, type ValidationContext } from './types.js';
import type { ExperimentConfig } from '../schemas.js';

/** Starting, resuming and ramping up change what users see; pausing and stopping do not need to wait. */
const startsOrRamps = (c: ExperimentConfig, ctx: ValidationContext) =>
  !ctx.deployed || ctx.deployed.status === 'paused' || c.allocationPercent > ctx.deployed.allocationPercent;

export const freezeWindowRule = defineRule({
  code: 'FREEZE_WINDOW',
  family: 'freeze',
  severity: 'error',
  rationale: 'Freeze windows (holidays, big launches, incidents) keep the product stable: no experiment starts or ramps inside one.',
  fix: 'Wait until the freeze window ends (sealab://policy freezeWindows), then validate and deploy again.',
  patchable: false,
  check: (c, ctx) => {
    const w = activeFreeze(ctx.policy, ctx.now);
    if (!w || !startsOrRamps(c, ctx)) return [];
    return [
      finding(
        freezeWindowRule,
        '$',
        `surface '${c.surfaceId}' is frozen until ${w.end} (${w.reason}): no starts or ramps`,
        `Wait until ${w.end}, then call validate_config and deploy_to_surface again.`,
      ),
    ];
  },
});

export const freezeAheadRule = defineRule({
  code: 'FREEZE_WINDOW_AHEAD',
  family: 'freeze',
  severity: 'warning',
  rationale: 'A freeze window inside the planned run blocks ramps while it lasts, which stretches the plan.',
  fix: 'Plan the ramp stages around the freeze window, or start after it.',
  patchable: false,
  check: (c, ctx) => {
    const from = ctx.now.getTime();
    const to = from + c.analysisPlan.durationDays * 86_400_000;
    return ctx.policy.freezeWindows
      .filter((w) => Date.parse(w.start) > from && Date.parse(w.start) < to)
      .map((w) =>
        finding(
          freezeAheadRule,
          '$.analysisPlan.durationDays',
          `a freeze window (${w.reason}) from ${w.start} to ${w.end} falls inside the planned ${c.analysisPlan.durationDays} days: no ramps then`,
          'Reach the final ramp stage before it starts, or start after it ends.',
        ),
      );
  },
});
