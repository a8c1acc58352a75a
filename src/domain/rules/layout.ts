import { canonicalJson } from '../canonical.js';
import { compileLayout, duplicatesIn, renderLayout, sameLayout, slotDefaults, type Layout } from '../layout.js';
import type { ExperimentConfig, Finding, Surface } from '../schemas.js';
import { defineRule, finding, type ValidationContext } from './types.js';

/** The base every variant is rendered on: the surface's current default layout. */
const baseOf = (s: Surface, ctx: ValidationContext): Layout => ({ ...slotDefaults(s), ...(ctx.baseLayout ?? {}) });

const withLayout = (c: ExperimentConfig) => c.variants.map((v, i) => ({ v, i })).filter((x) => x.v.layout?.length);

/** Each variant's layout compiled against the base: the problems of each change. */
function problems(c: ExperimentConfig, ctx: ValidationContext) {
  const s = ctx.surface;
  if (!s) return [];
  return withLayout(c).flatMap(({ v, i }) => compileLayout(v.layout!, s, baseOf(s, ctx), ctx.content).problems.map((p) => ({ ...p, variant: i })));
}

export const layoutChangeRule = defineRule({
  code: 'LAYOUT_CHANGE_INVALID',
  family: 'layout',
  severity: 'error',
  rationale:
    'A layout change that cannot apply (unknown slot, content a slot does not accept, a move to the same slot) would not render what the hypothesis describes.',
  fix: "Correct the change: slots of the surface (list_surfaces), content each slot accepts, a different destination; each finding names the change's index.",
  patchable: false,
  check: (c, ctx) =>
    problems(c, ctx)
      .filter((p) => p.code === 'LAYOUT_CHANGE_INVALID')
      .map((p) => finding(layoutChangeRule, `$.variants[${p.variant}].layout[${p.index}]`, p.message, p.fix)),
});

export const slotNotOptionalRule = defineRule({
  code: 'SLOT_NOT_OPTIONAL',
  family: 'layout',
  severity: 'error',
  rationale: 'Only slots the surface marks optional may be hidden, added or left empty; hiding any other slot breaks the screen.',
  fix: 'Hide or add only optional slots (list_surfaces marks them); otherwise replace the content.',
  patchable: false,
  check: (c, ctx) => {
    const s = ctx.surface;
    if (!s) return [];
    const fromChanges = problems(c, ctx)
      .filter((p) => p.code === 'SLOT_NOT_OPTIONAL')
      .map((p) => finding(slotNotOptionalRule, `$.variants[${p.variant}].layout[${p.index}]`, p.message, p.fix));
    const fromOverrides = c.variants.flatMap((v, i) =>
      v.layout?.length
        ? []
        : v.overrides.flatMap((o, j) => {
            const slot = s.slots.find((x) => x.id === o.slotId);
            return o.contentId === null && slot && !slot.optional
              ? [
                  finding(
                    slotNotOptionalRule,
                    `$.variants[${i}].overrides[${j}].contentId`,
                    `slot '${slot.id}' is not optional: a null contentId would hide it`,
                    `Give '${slot.id}' content it accepts (${slot.accepts.join('/')}), or hide an optional slot instead.`,
                  ),
                ]
              : [];
          }),
    );
    return [...fromChanges, ...fromOverrides];
  },
});

export const layoutOutOfDateRule = defineRule({
  code: 'LAYOUT_OUT_OF_DATE',
  family: 'layout',
  severity: 'error',
  rationale:
    "A variant's overrides are its layout compiled against the surface's default layout; when that default changed (a shipped layout), the overrides no longer render the layout described.",
  fix: 'Apply the patch (update_experiment recompiles every layout on each edit).',
  patchable: true,
  check: (c, ctx) => {
    const s = ctx.surface;
    if (!s) return [];
    return withLayout(c).flatMap(({ v, i }) => {
      const compiled = compileLayout(v.layout!, s, baseOf(s, ctx), ctx.content).overrides;
      const key = (o: typeof compiled) => canonicalJson([...o].sort((a, b) => a.slotId.localeCompare(b.slotId)));
      if (key(compiled) === key(v.overrides)) return [];
      return [
        finding(
          layoutOutOfDateRule,
          `$.variants[${i}].overrides`,
          `variant '${v.key}': its overrides are not its layout compiled against the current default layout of ${s.id}`,
          `Replace the overrides with ${JSON.stringify(compiled)} (the patch does), or update_experiment with any edit to recompile.`,
          [{ op: 'replace', path: `/variants/${i}/overrides`, value: compiled }],
        ),
      ];
    });
  },
});

export const duplicateContentRule = defineRule({
  code: 'DUPLICATE_CONTENT_IN_LAYOUT',
  family: 'layout',
  severity: 'error',
  rationale: 'A layout showing the same content in two slots is a broken screen, and any effect measured on it says nothing about the change intended.',
  fix: 'Move the content instead of copying it (a swap or move layout change), or put other content in one of the slots.',
  patchable: false,
  check: (c, ctx) => {
    const s = ctx.surface;
    if (!s) return [];
    const base = baseOf(s, ctx);
    return c.variants.flatMap((v, i) => {
      const touched = new Set(v.overrides.map((o) => o.slotId));
      return duplicatesIn(renderLayout(base, v.overrides))
        .filter((d) => d.slotIds.some((x) => touched.has(x)))
        .map((d) => {
          const others = d.slotIds.filter((x) => !touched.has(x));
          return finding(
            duplicateContentRule,
            v.layout?.length ? `$.variants[${i}].layout` : `$.variants[${i}].overrides`,
            `variant '${v.key}' shows '${d.contentId}' in ${d.slotIds.join(' and ')} at once`,
            others.length
              ? `'${d.contentId}' already shows in ${others.join(', ')}: use {"op":"swap","slotIds":["${others[0]}","${d.slotIds.find((x) => touched.has(x))}"]} or a move instead of a replace, or pick other content.`
              : `Give ${d.slotIds.slice(1).join(', ')} other content.`,
          );
        });
    });
  },
});

export const treatmentSameAsControlRule = defineRule({
  code: 'TREATMENT_SAME_AS_CONTROL',
  family: 'layout',
  severity: 'error',
  rationale: 'A treatment whose changes render exactly the control layout measures noise: it costs traffic and can only produce false positives.',
  fix: 'Change the treatment so it renders a different layout (another order, other content), or drop the variant.',
  patchable: false,
  check: (c, ctx) => {
    const s = ctx.surface;
    const control = c.variants.find((v) => v.isControl);
    if (!s || !control) return [];
    const base = baseOf(s, ctx);
    const controlLayout = renderLayout(base, control.overrides);
    return c.variants.flatMap((v, i): Finding[] =>
      v === control || (!v.overrides.length && !v.layout?.length) || !sameLayout(renderLayout(base, v.overrides), controlLayout)
        ? []
        : [
            finding(
              treatmentSameAsControlRule,
              v.layout?.length ? `$.variants[${i}].layout` : `$.variants[${i}].overrides`,
              `variant '${v.key}' renders exactly like control '${control.key}'`,
              'Change at least one slot to content or an order control does not show.',
            ),
          ],
    );
  },
});

export const LAYOUT_RULES = [layoutChangeRule, slotNotOptionalRule, layoutOutOfDateRule, duplicateContentRule, treatmentSameAsControlRule];
