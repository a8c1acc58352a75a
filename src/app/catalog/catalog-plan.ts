import { z } from 'zod';
import { canonicalJson, hashOf } from '../../domain/canonical.js';
import { ExperimentStatus, type ContentItem, type Metric, type Surface } from '../../domain/schemas.js';
import { CatalogIssueSchema, type Catalog } from './catalog-document.js';
import { refsText, type CatalogUsage, type ExperimentRef } from './catalog-usage.js';

const ExperimentRefSchema = z.object({ id: z.string(), key: z.string(), status: ExperimentStatus });
const Safety = z.enum(['additive', 'breaking']).describe('additive: applies at once; breaking: would corrupt experiments using it, so apply refuses it');

export const FieldChangeSchema = z.object({
  path: z.string().describe('Field inside the entity, slots and holdbacks by id, e.g. "slots.shelf-2.accepts"'),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
  safety: Safety,
  reason: z.string().optional().describe('Why it is breaking'),
  experiments: z.array(ExperimentRefSchema).describe('The experiments it would break'),
});
export type FieldChange = z.infer<typeof FieldChangeSchema>;

export const EntityChangeSchema = z.object({
  entity: z.enum(['surface', 'content', 'metric']),
  id: z.string(),
  action: z.enum(['add', 'change', 'remove']),
  safety: Safety,
  reason: z.string().optional(),
  experiments: z.array(ExperimentRefSchema),
  fields: z.array(FieldChangeSchema).describe('change: the fields that differ'),
});
export type EntityChange = z.infer<typeof EntityChangeSchema>;

export const CatalogPlanSchema = z.object({
  currentVersion: z.number().int().describe('The catalog version the store holds (0: never applied)'),
  digest: z.string().describe('sha256 of the desired catalog'),
  changes: z.array(EntityChangeSchema),
  counts: z.object({ added: z.number().int(), changed: z.number().int(), removed: z.number().int(), unchanged: z.number().int(), breaking: z.number().int() }),
  safe: z.boolean().describe('true when nothing is breaking: apply would write it'),
  contentManaged: z.boolean().describe('false when content comes from a remote content delivery (content is then not planned)'),
  warnings: z.array(CatalogIssueSchema),
});
export type CatalogPlan = z.infer<typeof CatalogPlanSchema>;

type Entity = Surface | ContentItem | Metric;
type Kind = EntityChange['entity'];

/** The catalog's digest: the same whatever order files list entities in. */
export const catalogDigest = (c: Catalog) => hashOf({ surfaces: sortById(c.surfaces), content: sortById(c.content), metrics: sortById(c.metrics) });
const sortById = <T extends { id: string }>(l: T[]) => [...l].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

/**
 * The diff between the stored catalog and the desired one, each change classified additive or
 * breaking (with the experiments it would break) under the rules of ADR 0014.
 */
export function planCatalog(
  current: Catalog,
  desired: Catalog,
  usage: CatalogUsage,
  opts: { version: number; contentManaged: boolean },
): Omit<CatalogPlan, 'warnings'> {
  const contentType = new Map([...current.content, ...desired.content].map((c) => [c.id, c.type]));
  const rules = breakingRules(usage, contentType);
  const changes: EntityChange[] = [];
  let unchanged = 0;
  const kinds: [Kind, keyof Catalog][] = [
    ['surface', 'surfaces'],
    ['content', 'content'],
    ['metric', 'metrics'],
  ];
  for (const [entity, key] of kinds) {
    if (entity === 'content' && !opts.contentManaged) continue;
    const before = new Map((current[key] as Entity[]).map((e) => [e.id, e]));
    const after = new Map((desired[key] as Entity[]).map((e) => [e.id, e]));
    for (const id of [...new Set([...before.keys(), ...after.keys()])].sort()) {
      const b = before.get(id);
      const a = after.get(id);
      if (b && a && canonicalJson(b) === canonicalJson(a)) {
        unchanged++;
        continue;
      }
      if (!b) {
        changes.push({ entity, id, action: 'add', safety: 'additive', experiments: [], fields: [] });
        continue;
      }
      if (!a) {
        const refs = rules.removal(entity, id);
        changes.push({
          entity,
          id,
          action: 'remove',
          ...(refs.length ? { safety: 'breaking', reason: `${entity} '${id}' is in use`, experiments: refs } : { safety: 'additive', experiments: [] }),
          fields: [],
        });
        continue;
      }
      const fields = diffFields(b, a).map((f) => rules.field(entity, b, a, f));
      const broken = fields.filter((f) => f.safety === 'breaking');
      changes.push({
        entity,
        id,
        action: 'change',
        safety: broken.length ? 'breaking' : 'additive',
        experiments: uniqueRefs(broken.flatMap((f) => f.experiments)),
        fields,
      });
    }
  }
  const count = (action: EntityChange['action']) => changes.filter((c) => c.action === action).length;
  const breaking = changes.filter((c) => c.safety === 'breaking').length;
  return {
    currentVersion: opts.version,
    digest: catalogDigest(desired),
    changes,
    counts: { added: count('add'), changed: count('change'), removed: count('remove'), unchanged, breaking },
    safe: breaking === 0,
    contentManaged: opts.contentManaged,
  };
}

const uniqueRefs = (refs: ExperimentRef[]) => [...new Map(refs.map((r) => [r.id, r])).values()];

type RawChange = { path: string; before?: unknown; after?: unknown };

/** Field-level differences; lists of objects with an id (slots, holdbacks) are compared by id, so a path reads "slots.shelf-2.accepts". */
export function diffFields(before: unknown, after: unknown, path = ''): RawChange[] {
  const at = (k: string) => (path ? `${path}.${k}` : k);
  if (isRecord(before) && isRecord(after))
    return [...new Set([...Object.keys(before), ...Object.keys(after)])].flatMap((k) => diffFields(before[k], after[k], at(k)));
  if (byId(before) && byId(after)) {
    const b = new Map(before.map((x) => [x.id, x]));
    const a = new Map(after.map((x) => [x.id, x]));
    return [...new Set([...b.keys(), ...a.keys()])].flatMap((id) => diffFields(b.get(id), a.get(id), at(id)));
  }
  if (canonicalJson(before ?? null) === canonicalJson(after ?? null)) return [];
  return [{ path, ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) }];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const byId = (v: unknown): v is { id: string }[] => Array.isArray(v) && v.length > 0 && v.every((x) => isRecord(x) && typeof x.id === 'string');

/** Metric fields whose change alters what an in-use metric measures or how its results read. */
const METRIC_MEANING = ['kind', 'direction', 'source', 'quantile', 'numeratorId', 'denominatorId', 'capMax'];

function breakingRules(u: CatalogUsage, contentType: Map<string, string>) {
  const additive = (f: RawChange): FieldChange => ({ ...f, safety: 'additive', experiments: [] });
  const breaking = (f: RawChange, reason: string, refs: ExperimentRef[]): FieldChange =>
    refs.length ? { ...f, safety: 'breaking', reason, experiments: uniqueRefs(refs) } : additive(f);
  const slotUsers = (surfaceId: string, slotId: string) => u.slots.get(`${surfaceId}/${slotId}`) ?? [];
  const lost = (f: RawChange) => ((f.before as unknown[]) ?? []).filter((x) => !((f.after as unknown[]) ?? []).includes(x));
  return {
    removal(entity: Kind, id: string): ExperimentRef[] {
      if (entity === 'surface') return u.records.get(id) ?? [];
      return (entity === 'content' ? u.content : u.metrics).get(id) ?? [];
    },
    field(entity: Kind, before: Entity, after: Entity, f: RawChange): FieldChange {
      const [head, sub, leaf] = f.path.split('.');
      if (entity === 'metric') {
        const refs = u.metrics.get(before.id) ?? [];
        return METRIC_MEANING.includes(head) ? breaking(f, `changes what metric '${before.id}' measures while experiments read it`, refs) : additive(f);
      }
      if (entity === 'content') {
        const refs = u.content.get(before.id) ?? [];
        if (head === 'type') return breaking(f, `retypes content '${before.id}', which experiments show`, refs);
        if (head === 'platforms' && lost(f).length)
          return breaking(f, `takes content '${before.id}' off ${lost(f).join(', ')} while experiments show it`, refs);
        return additive(f);
      }
      const surfaceId = before.id;
      const users = u.surfaces.get(surfaceId) ?? [];
      if (head === 'salt' || head === 'bucketCount') return breaking(f, `moves every unit of surface '${surfaceId}' to another bucket`, users);
      if (head === 'platforms' && lost(f).length) return breaking(f, `takes surface '${surfaceId}' off ${lost(f).join(', ')}`, users);
      if (head === 'holdbacks') return holdbackRule(f, after as Surface);
      if (head !== 'slots' || !sub) return additive(f);
      const slot = slotUsers(surfaceId, sub);
      if (!leaf && f.after === undefined)
        return breaking(
          f,
          `removes slot '${sub}', which experiments override`,
          slot.map((s) => s.ref),
        );
      if (leaf === 'accepts') {
        const gone = lost(f);
        const hit = slot.filter((s) => s.contentIds.some((c) => gone.includes(contentType.get(c) ?? '')));
        return breaking(
          f,
          `slot '${sub}' would no longer accept ${gone.join(', ')}, which experiments put there`,
          hit.map((s) => s.ref),
        );
      }
      if (leaf === 'defaultContentId')
        return breaking(
          f,
          `changes what the control arm shows in slot '${sub}', which experiments compare against`,
          slot.map((s) => s.ref),
        );
      return additive(f);
    },
  };
  function holdbackRule(f: RawChange, after: Surface): FieldChange {
    const held = (after.holdbacks ?? []).flatMap((h) => h.buckets);
    const owners = (u.buckets.get(after.id) ?? []).filter((o) => o.ranges.some(([s, e]) => held.some(([hs, he]) => s < he && hs < e)));
    return breaking(
      f,
      'a holdback would take buckets running experiments own',
      owners.map((o) => o.ref),
    );
  }
}

const show = (v: unknown): string => {
  if (v === undefined) return '(none)';
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object')) return `[${v.join(', ')}]`;
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
};
const SIGN = { add: '+', change: '~', remove: '-' } as const;

/** The plan for people: one line per entity, one indented line per field, breaking ones marked with the experiments. */
export function planText(p: CatalogPlan): string {
  const c = p.counts;
  const lines = [
    `catalog plan against version ${p.currentVersion}: ${c.added} to add, ${c.changed} to change, ${c.removed} to remove, ${c.unchanged} unchanged` +
      (c.breaking ? `; ${c.breaking} breaking (apply refuses them)` : ''),
  ];
  for (const ch of p.changes) {
    const mark = ch.safety === 'breaking' && ch.action === 'remove' ? `  BREAKING: in use by ${refsText(ch.experiments)}` : '';
    lines.push(`${SIGN[ch.action]} ${ch.entity} ${ch.id}${mark}`);
    for (const f of ch.fields)
      lines.push(
        `    ${f.path}: ${show(f.before)} → ${show(f.after)}${f.safety === 'breaking' ? `  BREAKING: ${f.reason}; used by ${refsText(f.experiments)}` : ''}`,
      );
  }
  if (!p.changes.length) lines.push('no changes: the store already holds this catalog');
  if (!p.contentManaged) lines.push('content: from the content delivery system (not planned from files)');
  return lines.join('\n');
}
