import type { ExperimentConfig, Finding } from '../schemas.js';
import { defineRule, finding, round2 } from './types.js';

export const controlCountRule = defineRule({
  code: 'CONTROL_COUNT',
  family: 'variants',
  severity: 'error',
  rationale: 'Effects are measured against one baseline; zero or two controls make every comparison ambiguous.',
  fix: 'Set isControl: true on exactly one variant, usually the one with no overrides.',
  patchable: true,
  check: (c) => {
    const controls = c.variants.map((v, i) => ({ v, i })).filter((x) => x.v.isControl);
    if (controls.length === 1) return [];
    const firstEmpty = c.variants.findIndex((v) => v.overrides.length === 0);
    const pick = controls.length === 0 ? Math.max(firstEmpty, 0) : (controls.find((x) => x.v.overrides.length === 0) ?? controls[0]).i;
    const patch = c.variants
      .map((_v, i) => ({ op: 'replace' as const, path: `/variants/${i}/isControl`, value: i === pick }))
      .filter((p, i) => c.variants[i].isControl !== p.value);
    return [
      finding(
        controlCountRule,
        '$.variants',
        `found ${controls.length} control variants; exactly one is required`,
        `Make '${c.variants[pick].key}' the only control (isControl: true on it alone).`,
        patch,
      ),
    ];
  },
});

export const duplicateVariantRule = defineRule({
  code: 'DUPLICATE_VARIANT',
  family: 'variants',
  severity: 'error',
  rationale: 'Assignment, exposures and results are keyed by variant key; two variants with one key cannot be told apart.',
  fix: 'Give every variant a distinct key.',
  patchable: true,
  check: (c) => {
    const out: Finding[] = [];
    const seen = new Set<string>();
    c.variants.forEach((v, i) => {
      if (seen.has(v.key)) {
        let n = 2;
        while (c.variants.some((x) => x.key === `${v.key}-${n}`)) n++;
        out.push(
          finding(duplicateVariantRule, `$.variants[${i}].key`, `variant key '${v.key}' is used twice`, `Rename it, e.g. "${v.key}-${n}".`, [
            { op: 'replace', path: `/variants/${i}/key`, value: `${v.key}-${n}` },
          ]),
        );
      }
      seen.add(v.key);
    });
    return out;
  },
});

export const tooManyVariantsRule = defineRule({
  code: 'TOO_MANY_VARIANTS',
  family: 'variants',
  severity: 'error',
  rationale: 'Each extra arm divides the traffic and multiplies comparisons; the policy caps how many.',
  fix: 'Drop the weakest variants down to the policy maximum (sealab://policy maxVariants).',
  patchable: false,
  check: (c, ctx) =>
    c.variants.length > ctx.policy.maxVariants
      ? [
          finding(
            tooManyVariantsRule,
            '$.variants',
            `${c.variants.length} variants exceed the policy maximum of ${ctx.policy.maxVariants}`,
            `Keep at most ${ctx.policy.maxVariants} variants.`,
          ),
        ]
      : [],
});

export const weightsSumRule = defineRule({
  code: 'WEIGHTS_SUM',
  family: 'variants',
  severity: 'error',
  rationale: 'Weights that do not add up usually mean a typo in the split; the SRM check compares exposures against them.',
  fix: 'Scale the weights so they sum to 100 (or 1).',
  patchable: true,
  check: (c) => {
    const total = c.variants.reduce((s, v) => s + v.weight, 0);
    // Weights are normalised at assignment, so rounding (33.33 × 3) is fine; a real mismatch is not.
    if (Math.abs(total - 100) <= 0.011 || Math.abs(total - 1) <= 1e-4) return [];
    const scaled = scaleTo100(c);
    return [
      finding(
        weightsSumRule,
        '$.variants',
        `variant weights sum to ${total}; they must sum to 100 (or 1)`,
        `Scale the weights so they sum to 100, e.g. ${equalSplit(c.variants.length).join(' / ')} for an equal split; the patch keeps your ratios: ${scaled.join(' / ')}.`,
        scaled.map((w, i) => ({ op: 'replace', path: `/variants/${i}/weight`, value: w })),
      ),
    ];
  },
});

export const emptyTreatmentRule = defineRule({
  code: 'EMPTY_TREATMENT',
  family: 'variants',
  severity: 'warning',
  rationale: 'A treatment that overrides nothing is an A/A arm: it costs traffic and tests nothing.',
  fix: 'Add at least one slot override to the variant, or drop it.',
  patchable: false,
  check: (c) =>
    c.variants.flatMap((v, i) =>
      !v.isControl && v.overrides.length === 0
        ? [
            finding(
              emptyTreatmentRule,
              `$.variants[${i}].overrides`,
              `variant '${v.key}' changes nothing on the surface`,
              'Add at least one slot override, or drop the variant.',
            ),
          ]
        : [],
    ),
});

/** Equal weights in hundredths that sum to exactly 100, the remainder on the last. */
export function equalSplit(n: number): number[] {
  const each = Math.floor(10000 / n) / 100;
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? round2(100 - each * (n - 1)) : each));
}

/** The weights scaled to sum to 100 in hundredths, ratios kept, the remainder on the last. */
function scaleTo100(c: ExperimentConfig): number[] {
  const total = c.variants.reduce((s, v) => s + v.weight, 0);
  const scaled = c.variants.map((v) => Math.floor((10000 * v.weight) / total) / 100);
  scaled[scaled.length - 1] = round2(100 - scaled.slice(0, -1).reduce((a, b) => a + b, 0));
  return scaled;
}
