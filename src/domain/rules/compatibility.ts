import type { ExperimentConfig, Finding, Surface } from '../schemas.js';
import { defineRule, finding, withSuggestions, type ValidationContext } from './types.js';

/** Each override that shows content (a null contentId hides an optional slot: SLOT_NOT_OPTIONAL judges it). */
const eachOverride = (c: ExperimentConfig, fn: (o: { slotId: string; contentId: string }, path: string) => Finding[]) =>
  c.variants.flatMap((v, i) =>
    v.overrides.flatMap((o, j) => (o.contentId === null ? [] : fn({ slotId: o.slotId, contentId: o.contentId }, `$.variants[${i}].overrides[${j}]`))),
  );

const targeted = (c: ExperimentConfig, s: Surface) => (c.targeting.platforms?.length ? c.targeting.platforms : s.platforms);

export const unknownSurfaceRule = defineRule({
  code: 'UNKNOWN_SURFACE',
  family: 'compatibility',
  severity: 'error',
  rationale: 'An experiment runs on one surface; slots, traffic, buckets and policy all come from it.',
  fix: 'Pick a surface id from list_surfaces (e.g. "home").',
  patchable: false,
  check: (c, ctx) =>
    ctx.surface
      ? []
      : [
          finding(
            unknownSurfaceRule,
            '$.surfaceId',
            `surface '${c.surfaceId}' does not exist`,
            withSuggestions('Pick a surface from list_surfaces (e.g. "home").', c.surfaceId, ctx.surfaceIds ?? []),
          ),
        ],
});

export const unknownSlotRule = defineRule({
  code: 'UNKNOWN_SLOT',
  family: 'compatibility',
  severity: 'error',
  rationale: 'An override of a slot the surface does not have would never be served.',
  fix: 'Use a slot id of the surface (list_surfaces shows them).',
  patchable: false,
  check: (c, ctx) => {
    const s = ctx.surface;
    if (!s) return [];
    const ids = new Set(s.slots.map((x) => x.id));
    return eachOverride(c, (o, path) =>
      ids.has(o.slotId)
        ? []
        : [
            finding(
              unknownSlotRule,
              `${path}.slotId`,
              `slot '${o.slotId}' is not on surface '${s.id}'`,
              withSuggestions(`Use one of: ${[...ids].join(', ')}.`, o.slotId, ids),
            ),
          ],
    );
  },
});

export const unknownContentRule = defineRule({
  code: 'UNKNOWN_CONTENT',
  family: 'compatibility',
  severity: 'error',
  rationale: 'A variant cannot serve content that is not in the catalog.',
  fix: 'Pick an item from the content catalog (sealab://content).',
  patchable: false,
  check: (c, ctx) =>
    eachOverride(c, (o, path) =>
      ctx.content.has(o.contentId)
        ? []
        : [
            finding(
              unknownContentRule,
              `${path}.contentId`,
              `content item '${o.contentId}' does not exist`,
              withSuggestions('Pick an item from the content catalog resource (sealab://content).', o.contentId, ctx.content.keys()),
            ),
          ],
    ),
});

export const contentMissingUpstreamRule = defineRule({
  code: 'CONTENT_MISSING_UPSTREAM',
  family: 'compatibility',
  severity: 'error',
  rationale:
    'Content delivery no longer lists the item: the catalog keeps it only so experiments that used it stay readable, and units would be served content that does not exist.',
  fix: 'Pick an item content delivery lists (sealab://content; those under sync.missingUpstream are gone upstream).',
  patchable: false,
  check: (c, ctx) =>
    eachOverride(c, (o, path) => {
      const since = ctx.missingUpstream?.get(o.contentId);
      if (since === undefined) return [];
      const others = [...ctx.content.keys()].filter((id) => !ctx.missingUpstream?.has(id));
      return [
        finding(
          contentMissingUpstreamRule,
          `${path}.contentId`,
          `content item '${o.contentId}' is no longer listed by content delivery (missing upstream since ${since})`,
          withSuggestions(
            'Pick an item content delivery lists (sealab://content), or restore the item in content delivery; the next content sync clears this.',
            o.contentId,
            others,
          ),
        ),
      ];
    }),
});

export const slotContentMismatchRule = defineRule({
  code: 'SLOT_CONTENT_MISMATCH',
  family: 'compatibility',
  severity: 'error',
  rationale: 'A slot renders only the content types it accepts; anything else breaks the layout.',
  fix: "Choose an item of a type the slot accepts, or a slot that accepts the item's type.",
  patchable: false,
  check: (c, ctx) => {
    const s = ctx.surface;
    if (!s) return [];
    return eachOverride(c, (o, path) => {
      const slot = s.slots.find((x) => x.id === o.slotId);
      const item = ctx.content.get(o.contentId);
      if (!slot || !item || slot.accepts.includes(item.type)) return [];
      const others = s.slots.filter((x) => x.accepts.includes(item.type)).map((x) => x.id);
      return [
        finding(
          slotContentMismatchRule,
          `${path}.contentId`,
          `slot '${slot.id}' accepts ${slot.accepts.join('/')} but '${item.id}' is a ${item.type}`,
          `Choose a ${slot.accepts.join(' or ')} item for slot '${slot.id}'${others.length ? `, or use slot ${others.join(' or ')} which accepts ${item.type}` : ''}.`,
        ),
      ];
    });
  },
});

export const contentNotOnPlatformRule = defineRule({
  code: 'CONTENT_NOT_ON_PLATFORM',
  family: 'compatibility',
  severity: 'error',
  rationale:
    "Units on a targeted platform where a variant's content is missing would see a broken or fallback layout: the arm measures something else there, and the result is biased.",
  fix: "Target only the platforms every variant's content is available on (targeting.platforms; the surface's platforms when none), or pick items available everywhere.",
  patchable: true,
  check: (c, ctx) => {
    const s = ctx.surface;
    if (!s) return [];
    const platforms = targeted(c, s);
    const items = c.variants
      .flatMap((v) => v.overrides.map((o) => (o.contentId === null ? undefined : ctx.content.get(o.contentId))))
      .filter((x) => x !== undefined);
    const everywhere = platforms.filter((p) => items.every((it) => it.platforms.includes(p)));
    const patch = everywhere.length ? [{ op: 'add' as const, path: '/targeting/platforms', value: everywhere }] : undefined;
    return eachOverride(c, (o, path) => {
      const item = ctx.content.get(o.contentId);
      const missing = item ? platforms.filter((p) => !item.platforms.includes(p)) : [];
      if (!item || !missing.length) return [];
      return [
        finding(
          contentNotOnPlatformRule,
          `${path}.contentId`,
          `'${item.id}' is not available on ${missing.join(', ')}, which ${c.targeting.platforms?.length ? 'the experiment targets' : `surface ${s.id} serves (no targeting)`}`,
          everywhere.length
            ? `Target only ${everywhere.join(', ')} (the patch sets targeting.platforms), or pick an item available on ${missing.join(', ')} too.`
            : `Pick an item available on ${platforms.join(', ')}: no targeted platform has every variant's content.`,
          patch,
        ),
      ];
    });
  },
});

export const platformNotOnSurfaceRule = defineRule({
  code: 'PLATFORM_NOT_ON_SURFACE',
  family: 'compatibility',
  severity: 'error',
  rationale: 'Targeting a platform the surface is not served on selects nobody there.',
  fix: 'Target only platforms the surface is served on (list_surfaces).',
  patchable: true,
  check: (c: ExperimentConfig, ctx: ValidationContext) => {
    const s = ctx.surface;
    if (!s) return [];
    const given = c.targeting.platforms ?? [];
    const kept = given.filter((p) => s.platforms.includes(p));
    const patch = [kept.length ? { op: 'add' as const, path: '/targeting/platforms', value: kept } : { op: 'remove' as const, path: '/targeting/platforms' }];
    return given.flatMap((p, i) =>
      s.platforms.includes(p)
        ? []
        : [
            finding(
              platformNotOnSurfaceRule,
              `$.targeting.platforms[${i}]`,
              `surface '${s.id}' is not served on ${p}`,
              `Use platforms from: ${s.platforms.join(', ')}.`,
              patch,
            ),
          ],
    );
  },
});
