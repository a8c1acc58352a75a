import { bucketsForPercent, freeRanges, rangesSize } from '../assignment.js';
import type { Experiment, ExperimentConfig, Ranges } from '../schemas.js';
import { defineRule, finding, slotsOf, type ValidationContext } from './types.js';

type Placed = Pick<ExperimentConfig, 'surfaceId' | 'variants' | 'exclusivityGroup'>;

/**
 * Two experiments conflict when they are on the same surface and touch a common slot or share an
 * exclusivity group: they must own disjoint buckets, so no unit is in both.
 */
export function conflicts(a: Placed, b: Placed): boolean {
  if (a.surfaceId !== b.surfaceId) return false;
  if (a.exclusivityGroup && a.exclusivityGroup === b.exclusivityGroup) return true;
  const sa = slotsOf(a);
  for (const s of slotsOf(b)) if (sa.has(s)) return true;
  return false;
}

/** Buckets reserved by the surface's holdbacks. */
export const holdbackRanges = (ctx: Pick<ValidationContext, 'surface'>): Ranges => (ctx.surface?.holdbacks ?? []).flatMap((h) => h.buckets);

/** When an active experiment is planned to end: start + planned duration. */
export function plannedEnd(e: Experiment): Date | null {
  return e.startedAt ? new Date(Date.parse(e.startedAt) + e.analysisPlan.durationDays * 86_400_000) : null;
}

const day = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : 'not started');

export const collisionRule = defineRule({
  code: 'COLLISION',
  family: 'collisions',
  severity: 'error',
  rationale:
    'Experiments on the same slot or exclusivity group must own disjoint buckets, and holdback buckets are never used; there must be enough left for the allocation.',
  fix: 'Lower allocationPercent to what is free, use other slots, or wait until a colliding experiment is planned to end.',
  patchable: true,
  check: (c, ctx) => {
    const s = ctx.surface;
    if (!s) return [];
    const colliding = ctx.active.filter((e) => conflicts(e, c));
    const held = holdbackRanges(ctx);
    const free = rangesSize(freeRanges(s.bucketCount, [...colliding.flatMap((e) => e.buckets), ...held]));
    const need = bucketsForPercent(s.bucketCount, c.allocationPercent);
    if (need <= free) return [];
    const freePct = Math.floor((1000 * free) / s.bucketCount) / 10;
    const heldNote = held.length ? ` (${rangesSize(held)} buckets are held back)` : '';
    const who = colliding.map((e) => `${e.key} (${e.allocationPercent}%, planned to end ${day(plannedEnd(e))})`).join(', ');
    const wait = whenFree(colliding, need - free);
    const fix = `${[
      freePct > 0 ? `Lower allocationPercent to at most ${freePct}` : 'Use slots no running experiment touches',
      'or use other slots',
      wait ? `or start after ${day(wait)}, when colliding experiments are planned to end` : '',
    ]
      .filter(Boolean)
      .join(', ')}.`;
    const patch = freePct > 0 ? [{ op: 'replace' as const, path: '/allocationPercent', value: freePct }] : undefined;
    return [
      finding(
        collisionRule,
        '$.allocationPercent',
        `needs ${need} buckets but only ${free} (${freePct}%) are free of colliding experiments${heldNote}: ${who || 'none'}`,
        fix,
        patch,
      ),
    ];
  },
});

/** The planned end after which enough colliding buckets are freed, if the plans say so. */
function whenFree(colliding: Experiment[], missing: number): Date | null {
  let freed = 0;
  for (const e of [...colliding].sort((a, b) => (plannedEnd(a)?.getTime() ?? Infinity) - (plannedEnd(b)?.getTime() ?? Infinity))) {
    const end = plannedEnd(e);
    if (!end) return null;
    freed += rangesSize(e.buckets);
    if (freed >= missing) return end;
  }
  return null;
}

export const slotConcurrencyRule = defineRule({
  code: 'SLOT_CONCURRENCY',
  family: 'collisions',
  severity: 'error',
  rationale: 'Each experiment on a slot splits its traffic further; the policy caps how many run on one slot at a time.',
  fix: 'Use another slot, or wait until an experiment on this slot concludes (sealab://policy maxConcurrentPerSlot).',
  patchable: false,
  check: (c, ctx) => {
    const max = ctx.policy.maxConcurrentPerSlot;
    return [...slotsOf(c)].flatMap((slot) => {
      const on = ctx.active.filter((e) => e.surfaceId === c.surfaceId && slotsOf(e).has(slot));
      if (on.length + 1 <= max) return [];
      const i = c.variants.findIndex((v) => v.overrides.some((o) => o.slotId === slot));
      const j = c.variants[i].overrides.findIndex((o) => o.slotId === slot);
      return [
        finding(
          slotConcurrencyRule,
          `$.variants[${i}].overrides[${j}].slotId`,
          `slot '${slot}' already has ${on.length} active experiment(s) (${on.map((e) => e.key).join(', ')}); the policy allows ${max}`,
          `Use another slot, or wait until ${on.map((e) => `${e.key} (planned to end ${day(plannedEnd(e))})`).join(' or ')} concludes.`,
        ),
      ];
    });
  },
});

/** What a config changes on its surface: its treatments' overrides, order-free. */
const treatmentSignature = (c: Pick<ExperimentConfig, 'variants'>) =>
  c.variants
    .filter((v) => !v.isControl)
    .map((v) =>
      v.overrides
        .map((o) => `${o.slotId}=${o.contentId}`)
        .sort()
        .join('&'),
    )
    .sort()
    .join('|');

export const duplicateOfRunningRule = defineRule({
  code: 'DUPLICATE_OF_RUNNING',
  family: 'collisions',
  severity: 'error',
  rationale: 'Running the same change twice on one surface wastes traffic and splits the evidence across two results.',
  fix: "Do not start a copy: read the running experiment's results (get_metrics) or change what this one tests.",
  patchable: false,
  check: (c, ctx) => {
    const sig = treatmentSignature(c);
    if (!sig.replace(/[|&]/g, '')) return [];
    return ctx.active
      .filter((e) => e.surfaceId === c.surfaceId && treatmentSignature(e) === sig)
      .map((e) =>
        finding(
          duplicateOfRunningRule,
          '$.variants',
          `'${e.key}' (${e.status}) already tests exactly these overrides (${sig})`,
          `Read its results with get_metrics {"experimentId":"${e.id}"} instead, or change the overrides this experiment tests.`,
        ),
      );
  },
});
