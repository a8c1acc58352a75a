import { bucketsForPercent } from '../assignment.js';
import { defineRule, finding } from './types.js';

export const allocationAbovePolicyRule = defineRule({
  code: 'ALLOCATION_ABOVE_POLICY',
  family: 'allocation',
  severity: 'error',
  rationale: "The policy caps the share of a surface's traffic one experiment may take, so a bad change can only reach so many users.",
  fix: 'Set allocationPercent to at most the policy maximum (sealab://policy maxAllocationPercent).',
  patchable: true,
  check: (c, ctx) =>
    c.allocationPercent > ctx.policy.maxAllocationPercent
      ? [
          finding(
            allocationAbovePolicyRule,
            '$.allocationPercent',
            `allocation ${c.allocationPercent}% exceeds the policy maximum of ${ctx.policy.maxAllocationPercent}%`,
            `Set allocationPercent to at most ${ctx.policy.maxAllocationPercent}.`,
            [{ op: 'replace', path: '/allocationPercent', value: ctx.policy.maxAllocationPercent }],
          ),
        ]
      : [],
});

export const allocationTooSmallRule = defineRule({
  code: 'ALLOCATION_TOO_SMALL',
  family: 'allocation',
  severity: 'error',
  rationale: 'An allocation that rounds to zero buckets puts nobody in the experiment.',
  fix: "Use at least one bucket's worth of traffic (100 / bucketCount percent).",
  patchable: true,
  check: (c, ctx) => {
    const s = ctx.surface;
    if (!s || bucketsForPercent(s.bucketCount, c.allocationPercent) >= 1) return [];
    const min = Math.ceil((50 / s.bucketCount) * 1000) / 1000;
    return [
      finding(
        allocationTooSmallRule,
        '$.allocationPercent',
        `${c.allocationPercent}% of ${s.bucketCount} buckets rounds to none: nobody would be in the experiment`,
        `Use at least ${min}% (one bucket).`,
        [{ op: 'replace', path: '/allocationPercent', value: min }],
      ),
    ];
  },
});
