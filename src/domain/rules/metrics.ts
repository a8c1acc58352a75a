import type { ExperimentConfig, Finding, Metric } from '../schemas.js';
import { defineRule, finding, withSuggestions, type ValidationContext } from './types.js';

export const unknownMetricRule = defineRule({
  code: 'UNKNOWN_METRIC',
  family: 'metrics',
  severity: 'error',
  rationale: 'Results are computed from metric definitions; an id that is not in the catalog would never get data.',
  fix: 'Pick metric ids from the metric catalog (sealab://metrics).',
  patchable: false,
  check: (c, ctx) => [
    ...c.successMetrics.flatMap((m, i) =>
      ctx.metrics.has(m)
        ? []
        : [
            finding(
              unknownMetricRule,
              `$.successMetrics[${i}]`,
              `metric '${m}' does not exist`,
              withSuggestions('Pick metric ids from the metric catalog (sealab://metrics).', m, ctx.metrics.keys()),
            ),
          ],
    ),
    ...c.guardrails.flatMap((g, i) =>
      ctx.metrics.has(g.metricId)
        ? []
        : [
            finding(
              unknownMetricRule,
              `$.guardrails[${i}].metricId`,
              `metric '${g.metricId}' does not exist`,
              withSuggestions('Pick a guardrail metric from sealab://metrics (isGuardrail: true).', g.metricId, ctx.metrics.keys()),
            ),
          ],
    ),
  ],
});

export const duplicateMetricRule = defineRule({
  code: 'DUPLICATE_METRIC',
  family: 'metrics',
  severity: 'error',
  rationale: 'A metric listed twice is tested twice, which skews the multiple-testing correction and the decision.',
  fix: 'List each metric once.',
  patchable: true,
  check: (c) => {
    const dupes = (ids: string[], path: (i: number) => string, pointer: (i: number) => string): Finding[] =>
      ids
        .map((id, i) => ({ id, i }))
        .filter(({ id, i }) => ids.indexOf(id) !== i)
        .reverse() // removals from the end keep the earlier indexes valid
        .map(({ id, i }) =>
          finding(duplicateMetricRule, path(i), `metric '${id}' is listed more than once`, 'Remove the repeated entry.', [{ op: 'remove', path: pointer(i) }]),
        );
    return [
      ...dupes(
        c.successMetrics,
        (i) => `$.successMetrics[${i}]`,
        (i) => `/successMetrics/${i}`,
      ),
      ...dupes(
        c.guardrails.map((g) => g.metricId),
        (i) => `$.guardrails[${i}]`,
        (i) => `/guardrails/${i}`,
      ),
    ];
  },
});

type RequiredGuardrail = ValidationContext['policy']['requiredGuardrails'][number];

/** The guardrail entry a required guardrail asks for: its maximum margin, and the weakest test the policy allows. */
const requiredEntry = (r: RequiredGuardrail) => ({ metricId: r.metricId, margin: r.maxMargin, marginType: r.marginType, test: r.test });

const missingRequired = (c: ExperimentConfig, ctx: ValidationContext) =>
  ctx.policy.requiredGuardrails.filter((r) => !c.guardrails.some((g) => g.metricId === r.metricId));

export const requiredGuardrailRule = defineRule({
  code: 'REQUIRED_GUARDRAIL',
  family: 'metrics',
  severity: 'error',
  rationale: 'The surface policy names guardrails every experiment must carry, so no launch can silently hurt crashes, errors or latency.',
  fix: 'Add the required guardrail with a margin no larger than the policy allows (sealab://policy requiredGuardrails).',
  patchable: true,
  check: (c, ctx) =>
    missingRequired(c, ctx).map((r) =>
      finding(
        requiredGuardrailRule,
        '$.guardrails',
        `the ${c.surfaceId} policy requires guardrail '${r.metricId}' (${r.test}, ${r.marginType} margin ≤ ${r.maxMargin})`,
        `Add ${JSON.stringify(requiredEntry(r))} to guardrails.`,
        [{ op: 'add', path: '/guardrails/-', value: requiredEntry(r) }],
      ),
    ),
});

export const missingGuardrailRule = defineRule({
  code: 'MISSING_GUARDRAIL',
  family: 'metrics',
  severity: 'error',
  rationale: 'An experiment with too few guardrails can ship a win that quietly harms the product.',
  fix: 'Add guardrail metrics (isGuardrail: true in sealab://metrics) up to the policy minimum.',
  patchable: true,
  check: (c, ctx) => {
    const min = ctx.policy.minGuardrails;
    const required = missingRequired(c, ctx);
    // Adding the required ones (REQUIRED_GUARDRAIL) is enough when they reach the minimum.
    if (c.guardrails.length + required.length >= min) return [];
    const taken = new Set([...c.guardrails.map((g) => g.metricId), ...required.map((r) => r.metricId), ...c.successMetrics]);
    const fillers = [...ctx.metrics.values()]
      .filter((m) => m.isGuardrail && !taken.has(m.id))
      .slice(0, Math.max(0, min - c.guardrails.length - required.length));
    const examples = [...required.map(requiredEntry), ...fillers.map((m) => ({ metricId: m.id, margin: 0.02 }))];
    // Required ones come with REQUIRED_GUARDRAIL's patch; this one adds only the fillers, so the patches never overlap.
    const patch = fillers.map((m) => ({ op: 'add' as const, path: '/guardrails/-', value: { metricId: m.id, margin: 0.02 } }));
    return [
      finding(
        missingGuardrailRule,
        '$.guardrails',
        `the policy requires at least ${min} guardrail metric(s); found ${c.guardrails.length}`,
        `Add guardrails, e.g. ${JSON.stringify(examples)}.`,
        patch,
      ),
    ];
  },
});

/** A margin restated in `to` units with the metric's baseline (relative = absolute / |baseline|). */
function convertMargin(margin: number, from: 'relative' | 'absolute', to: 'relative' | 'absolute', baseline: number | undefined): number | null {
  if (from === to) return margin;
  if (!baseline) return null;
  return from === 'relative' ? margin * Math.abs(baseline) : margin / Math.abs(baseline);
}

export const guardrailMarginRule = defineRule({
  code: 'GUARDRAIL_MARGIN_ABOVE_POLICY',
  family: 'metrics',
  severity: 'error',
  rationale:
    'A wide margin lets a real regression pass as "not worse", and a weaker test than the policy asks lets it pass unproven; the policy caps both per required guardrail.',
  fix: 'Lower the margin to the policy maximum for that guardrail (in its marginType), use the test the policy requires, and keep relative margins at most 1.',
  patchable: true,
  check: (c, ctx) =>
    c.guardrails.flatMap((g, i) => {
      const r = ctx.policy.requiredGuardrails.find((x) => x.metricId === g.metricId);
      const out: Finding[] = [];
      const type = g.marginType ?? 'relative';
      if (r) {
        const stated = convertMargin(g.margin, type, r.marginType, ctx.metrics.get(g.metricId)?.baselineMean);
        if (stated === null || stated > r.maxMargin * (1 + 1e-9))
          out.push(
            finding(
              guardrailMarginRule,
              `$.guardrails[${i}].margin`,
              `margin ${g.margin} (${type}) on '${g.metricId}' exceeds the policy maximum ${r.maxMargin} (${r.marginType})${stated !== null && type !== r.marginType ? `: it is ${Number(stated.toPrecision(3))} ${r.marginType} at the catalog baseline` : ''}`,
              `Set the margin to at most ${r.maxMargin} with marginType "${r.marginType}".`,
              [
                { op: 'replace', path: `/guardrails/${i}/margin`, value: r.maxMargin },
                ...(type !== r.marginType ? [{ op: 'replace' as const, path: `/guardrails/${i}/marginType`, value: r.marginType }] : []),
              ],
            ),
          );
        if (g.test === 'no_deterioration' && r.test === 'non_inferiority')
          out.push(
            finding(
              guardrailMarginRule,
              `$.guardrails[${i}].test`,
              `the ${c.surfaceId} policy requires '${g.metricId}' to be shown non-inferior; "no_deterioration" is weaker`,
              'Set test to "non_inferiority".',
              [{ op: 'replace', path: `/guardrails/${i}/test`, value: 'non_inferiority' }],
            ),
          );
      } else if (type === 'relative' && g.margin > 1) {
        out.push(
          finding(
            guardrailMarginRule,
            `$.guardrails[${i}].margin`,
            `a relative margin of ${g.margin} on '${g.metricId}' tolerates more than doubling it`,
            'Set a relative margin of at most 1, or state it with marginType "absolute" in the metric\'s unit.',
            [{ op: 'replace', path: `/guardrails/${i}/margin`, value: 1 }],
          ),
        );
      }
      return out;
    }),
});

export const guardrailNotQualifiedRule = defineRule({
  code: 'GUARDRAIL_NOT_QUALIFIED',
  family: 'metrics',
  severity: 'warning',
  rationale: 'Guardrails should be health metrics with a stable baseline; a goal metric as a guardrail rarely protects anything.',
  fix: 'Prefer metrics marked isGuardrail: true in sealab://metrics.',
  patchable: false,
  check: (c, ctx) =>
    c.guardrails.flatMap((g, i) => {
      const m = ctx.metrics.get(g.metricId);
      if (!m || m.isGuardrail) return [];
      return [
        finding(
          guardrailNotQualifiedRule,
          `$.guardrails[${i}].metricId`,
          `'${m.id}' is not a guardrail metric in the catalog (${m.direction === 'increase' ? 'higher' : 'lower'} is better)`,
          'Use a metric with isGuardrail: true, e.g. crash-rate or latency-ms.',
        ),
      ];
    }),
});

export const metricRoleConflictRule = defineRule({
  code: 'METRIC_ROLE_CONFLICT',
  family: 'metrics',
  severity: 'warning',
  rationale: 'A metric that is both the goal and a guardrail is judged twice with different tests; keep one role.',
  fix: 'Remove it from guardrails (a success metric is already watched in both directions).',
  patchable: true,
  check: (c) =>
    c.guardrails
      .map((g, i) => ({ g, i }))
      .filter(({ g }) => c.successMetrics.includes(g.metricId))
      .reverse()
      .map(({ g, i }) =>
        finding(
          metricRoleConflictRule,
          `$.guardrails[${i}].metricId`,
          `'${g.metricId}' is both a success metric and a guardrail`,
          'Remove it from guardrails.',
          [{ op: 'remove', path: `/guardrails/${i}` }],
        ),
      ),
});

const UP = /\b(rais\w*|increas\w*|more|higher|grow\w*|boost\w*|lift\w*|up)\b/i;
const DOWN = /\b(reduc\w*|decreas\w*|lower\w*|fewer|less|cut\w*|drop\w*|down)\b/i;

/** The direction a sentence claims for a metric, if it names it and only one direction. */
function claimedDirection(hypothesis: string, m: Metric): 'increase' | 'decrease' | null {
  const names = [m.id.replace(/-/g, ' '), m.id, m.name].map((n) => n.toLowerCase());
  for (const sentence of hypothesis.toLowerCase().split(/[.;!?\n]+/)) {
    if (!names.some((n) => sentence.includes(n))) continue;
    const up = UP.test(sentence);
    const down = DOWN.test(sentence);
    if (up !== down) return up ? 'increase' : 'decrease';
  }
  return null;
}

export const metricDirectionRule = defineRule({
  code: 'METRIC_DIRECTION',
  family: 'metrics',
  severity: 'warning',
  rationale: 'Results call a change "better" in the metric\'s desirable direction; a hypothesis that expects the opposite would read a harm as a win.',
  fix: "Check the metric's direction in sealab://metrics: pick a metric whose desirable direction matches the hypothesis, or correct the hypothesis.",
  patchable: false,
  check: (c, ctx) =>
    c.successMetrics.flatMap((id, i) => {
      const m = ctx.metrics.get(id);
      const claimed = m ? claimedDirection(c.hypothesis, m) : null;
      if (!m || !claimed || claimed === m.direction) return [];
      return [
        finding(
          metricDirectionRule,
          `$.successMetrics[${i}]`,
          `the hypothesis expects '${m.id}' to ${claimed}, but for this metric ${m.direction === 'increase' ? 'higher' : 'lower'} is better`,
          'Pick a metric whose desirable direction matches the hypothesis, or correct the hypothesis.',
        ),
      ];
    }),
});
