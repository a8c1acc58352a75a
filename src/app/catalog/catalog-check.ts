import type { z } from 'zod';
import { ContentItemSchema, MetricSchema, SurfaceSchema, type ContentItem, type Metric, type Surface } from '../../domain/schemas.js';
import { didYouMean, nearest } from '../../domain/suggest.js';
import { CATALOG_KEYS, type Catalog, type CatalogIssue, type CatalogKey } from './catalog-document.js';

export type PathSeg = string | number;

/** One parsed document and how to find a path's line in it (absent for JSON input). */
export interface CatalogSource {
  file: string;
  value: unknown;
  /** Prefix of every path in issues, e.g. "catalog" for a tool's argument. */
  prefix?: string;
  line?: (path: PathSeg[]) => number | null;
}

/** Where an entity was defined, so a cross-file issue can name it. */
interface Origin {
  source: CatalogSource;
  path: PathSeg[];
}

export interface CheckOptions {
  /** false when content comes from a remote content delivery: `content:` is refused and `storeContent` is what slots check against. */
  contentManaged: boolean;
  storeContent?: ContentItem[];
  /** Merge mode: entities kept from the store unless a source redefines them (no duplicate error then). */
  base?: Catalog;
}

export interface CheckResult {
  catalog: Catalog;
  issues: CatalogIssue[];
}

const SCHEMAS: Record<CatalogKey, z.ZodType> = { surfaces: SurfaceSchema, content: ContentItemSchema, metrics: MetricSchema };

const pathText = (path: PathSeg[]) => path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');

/**
 * Validates catalog documents one by one (zod, unknown keys at every level) and then across them
 * (duplicate ids, slot defaults, ratio parts, holdbacks). Every issue names the file, the path, the
 * line and a fix; the catalog returned is meaningful only when no issue is an error.
 */
export function checkCatalog(sources: CatalogSource[], opts: CheckOptions): CheckResult {
  const issues: CatalogIssue[] = [];
  const entities: { key: CatalogKey; value: Surface | ContentItem | Metric; origin: Origin }[] = [];
  const issue = (severity: CatalogIssue['severity'], origin: Origin, message: string, hint: string) => {
    const full = origin.source.prefix ? [origin.source.prefix, ...origin.path] : origin.path;
    issues.push({ severity, file: origin.source.file, path: pathText(full), line: origin.source.line?.(origin.path) ?? null, message, hint });
  };

  for (const source of sources) {
    const doc = source.value ?? {};
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      issue('error', { source, path: [] }, 'a catalog document is a mapping', 'Write top-level keys surfaces:, content: and/or metrics:, each a list.');
      continue;
    }
    for (const [key, list] of Object.entries(doc as Record<string, unknown>)) {
      const at: Origin = { source, path: [key] };
      if (!(CATALOG_KEYS as readonly string[]).includes(key)) {
        issue(
          'error',
          at,
          `unknown top-level key '${key}'`,
          `${didYouMean(nearest(key, CATALOG_KEYS))} A catalog document has only surfaces:, content: and metrics:.`.trim(),
        );
        continue;
      }
      if (key === 'content' && !opts.contentManaged) {
        issue(
          'error',
          at,
          'content items come from the content delivery system here (SEALAB_CONTENT_URL is set), not from catalog files',
          'Remove the content: list; register content in the content delivery system, which sealab syncs from.',
        );
        continue;
      }
      if (list === null || list === undefined) continue;
      if (!Array.isArray(list)) {
        issue('error', at, `${key} must be a list`, `Write ${key}: as a YAML list ("- id: ...") or a JSON array.`);
        continue;
      }
      list.forEach((item, i) => {
        const origin: Origin = { source, path: [key, i] };
        const schema = SCHEMAS[key as CatalogKey];
        const before = issues.length;
        unknownKeys(item, schema, [key, i], (path, k, known) =>
          issue('error', { source, path }, `unknown key '${k}'`, `${didYouMean(nearest(k, known))} Allowed here: ${known.join(', ')}.`.trim()),
        );
        const parsed = schema.safeParse(item);
        if (!parsed.success)
          for (const zi of parsed.error.issues) {
            if (zi.code === 'unrecognized_keys') continue;
            const path = [key, i, ...zi.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
            issue('error', { source, path }, zi.message, hintFor(zi, item, schema, path.slice(2)));
          }
        if (parsed.success && issues.length === before) entities.push({ key: key as CatalogKey, value: parsed.data as Surface, origin });
      });
    }
  }

  const catalog = crossCheck(entities, opts, issue);
  issues.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || a.path.localeCompare(b.path));
  return { catalog, issues };
}

type IssueFn = (severity: CatalogIssue['severity'], origin: Origin, message: string, hint: string) => void;

function crossCheck(entities: { key: CatalogKey; value: Surface | ContentItem | Metric; origin: Origin }[], opts: CheckOptions, issue: IssueFn): Catalog {
  const seen = new Map<string, Origin>();
  const defined: Record<CatalogKey, Map<string, { value: unknown; origin: Origin | null }>> = { surfaces: new Map(), content: new Map(), metrics: new Map() };
  for (const e of entities) {
    const prior = seen.get(`${e.key}\u0000${e.value.id}`);
    if (prior) {
      const where = (o: Origin) => `${o.source.file} (${pathText(o.path)})`;
      issue(
        'error',
        e.origin,
        `${e.key === 'content' ? 'content item' : e.key.slice(0, -1)} '${e.value.id}' is defined twice: in ${where(prior)} and in ${where(e.origin)}`,
        'Keep one definition: ids are unique across the whole catalog directory.',
      );
      continue;
    }
    seen.set(`${e.key}\u0000${e.value.id}`, e.origin);
    defined[e.key].set(e.value.id, { value: e.value, origin: e.origin });
  }
  for (const key of CATALOG_KEYS) for (const v of opts.base?.[key] ?? []) if (!defined[key].has(v.id)) defined[key].set(v.id, { value: v, origin: null });
  if (!opts.contentManaged) {
    defined.content.clear();
    for (const c of opts.storeContent ?? []) defined.content.set(c.id, { value: c, origin: null });
  }
  const content = new Map([...defined.content].map(([id, d]) => [id, d.value as ContentItem]));
  for (const [, d] of defined.surfaces) if (d.origin) checkSurface(d.value as Surface, d.origin, content, opts, issue);
  for (const [, d] of defined.metrics) if (d.origin) checkMetric(d.value as Metric, d.origin, defined.metrics, issue);
  // In the order the files define them (then kept stored ones): the store and the digest sort by id anyway.
  const list = <T>(key: CatalogKey) => [...defined[key].values()].map((d) => d.value as T);
  return { surfaces: list<Surface>('surfaces'), content: list<ContentItem>('content'), metrics: list<Metric>('metrics') };
}

function checkSurface(s: Surface, origin: Origin, content: Map<string, ContentItem>, opts: CheckOptions, issue: IssueFn): void {
  const at = (...path: PathSeg[]): Origin => ({ source: origin.source, path: [...origin.path, ...path] });
  const slotIds = new Set<string>();
  s.slots.forEach((slot, i) => {
    if (slotIds.has(slot.id))
      issue('error', at('slots', i, 'id'), `slot '${slot.id}' appears twice on surface '${s.id}'`, 'Give each slot of a surface its own id.');
    slotIds.add(slot.id);
    // Content synced from a remote delivery that this check was not given: nothing to check against.
    if (slot.defaultContentId === null || (!opts.contentManaged && !opts.storeContent)) return;
    const c = content.get(slot.defaultContentId);
    if (!c) {
      issue(
        'error',
        at('slots', i, 'defaultContentId'),
        `content item '${slot.defaultContentId}' does not exist`,
        `${didYouMean(nearest(slot.defaultContentId, content.keys()))} Name a content item of the catalog (content:) or add it.`.trim(),
      );
      return;
    }
    if (!slot.accepts.includes(c.type))
      issue(
        'error',
        at('slots', i, 'defaultContentId'),
        `'${c.id}' is a ${c.type}, which slot '${slot.id}' does not accept (${slot.accepts.join(', ')})`,
        `Add '${c.type}' to the slot's accepts, or choose a default of an accepted type.`,
      );
    const missing = s.platforms.filter((p) => !c.platforms.includes(p));
    if (missing.length)
      issue(
        'warning',
        at('slots', i, 'defaultContentId'),
        `'${c.id}' is not available on ${missing.join(', ')}, where surface '${s.id}' runs: the slot shows nothing there by default`,
        `Add ${missing.join(', ')} to the content item's platforms, or choose a default available everywhere the surface runs.`,
      );
  });
  const ranges: { id: string; i: number; j: number; r: [number, number] }[] = [];
  (s.holdbacks ?? []).forEach((h, i) =>
    h.buckets.forEach((r, j) => {
      if (!(r[0] >= 0 && r[0] < r[1] && r[1] <= s.bucketCount))
        issue(
          'error',
          at('holdbacks', i, 'buckets', j),
          `holdback range [${r[0]}, ${r[1]}) is not inside [0, ${s.bucketCount})`,
          `Write [start, end) with 0 ≤ start < end ≤ bucketCount (${s.bucketCount}).`,
        );
      else ranges.push({ id: h.id, i, j, r });
    }),
  );
  ranges.sort((a, b) => a.r[0] - b.r[0]);
  for (let k = 1; k < ranges.length; k++)
    if (ranges[k].r[0] < ranges[k - 1].r[1])
      issue(
        'error',
        at('holdbacks', ranges[k].i, 'buckets', ranges[k].j),
        `holdback range [${ranges[k].r.join(', ')}) overlaps [${ranges[k - 1].r.join(', ')}) of holdback '${ranges[k - 1].id}'`,
        'Holdback ranges must not overlap: shorten one or merge the holdbacks.',
      );
}

function checkMetric(m: Metric, origin: Origin, metrics: Map<string, { value: unknown }>, issue: IssueFn): void {
  const at = (field: string): Origin => ({ source: origin.source, path: [...origin.path, field] });
  if (m.kind !== 'ratio') return;
  for (const field of ['numeratorId', 'denominatorId'] as const) {
    const id = m[field];
    if (!id) issue('error', at(field), `a ratio metric needs ${field}`, `Add ${field}: the id of the metric summed in the ${field.replace('Id', '')}.`);
    else if (!metrics.has(id))
      issue('error', at(field), `metric '${id}' does not exist`, `${didYouMean(nearest(id, metrics.keys()))} Name a metric of the catalog, or add it.`.trim());
    else if ((metrics.get(id)?.value as Metric | undefined)?.kind === 'ratio')
      issue('error', at(field), `'${id}' is itself a ratio`, 'A ratio sums per-unit values of plain metrics: name a count, sum or binary metric.');
  }
}

/** Reports keys the schema does not define, at every depth (zod would drop them silently). */
function unknownKeys(value: unknown, schema: z.ZodType, path: PathSeg[], report: (path: PathSeg[], key: string, known: string[]) => void): void {
  const s = unwrap(schema);
  const def = s._zod.def as { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType; valueType?: z.ZodType };
  if (def.type === 'object' && def.shape && isPlain(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (!Object.hasOwn(def.shape, k)) report([...path, k], k, Object.keys(def.shape));
      else unknownKeys(v, def.shape[k], [...path, k], report);
    }
  } else if (def.type === 'array' && def.element && Array.isArray(value))
    value.forEach((v, i) => unknownKeys(v, def.element as z.ZodType, [...path, i], report));
  else if (def.type === 'record' && def.valueType && isPlain(value))
    for (const [k, v] of Object.entries(value)) unknownKeys(v, def.valueType, [...path, k], report);
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let i = 0; i < 10; i++) {
    const def = s._zod.def as { type: string; innerType?: z.ZodType };
    if (!['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional'].includes(def.type) || !def.innerType) return s;
    s = def.innerType;
  }
  return s;
}

/** The schema at a path inside an entity (for a field's description), if it can be followed. */
function schemaAt(schema: z.ZodType, path: PathSeg[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (const seg of path) {
    if (!s) return undefined;
    const def = unwrap(s)._zod.def as { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType; items?: z.ZodType[] };
    s = def.type === 'object' ? def.shape?.[String(seg)] : def.type === 'array' ? def.element : def.type === 'tuple' ? def.items?.[Number(seg)] : undefined;
  }
  return s;
}

function valueAt(value: unknown, path: PathSeg[]): unknown {
  let v = value;
  for (const seg of path) v = isPlain(v) || Array.isArray(v) ? (v as Record<string, unknown>)[seg as string] : undefined;
  return v;
}

/** What to do about one zod issue: the allowed values (with did-you-mean), the missing field, the expected type. */
function hintFor(zi: z.core.$ZodIssue, item: unknown, schema: z.ZodType, path: PathSeg[]): string {
  const field = schemaAt(schema, path);
  const name = String([...path].reverse().find((p) => typeof p === 'string') ?? 'the value');
  const about = field?.description ? ` (${field.description})` : '';
  const given = valueAt(item, path);
  if (zi.code === 'invalid_value' && 'values' in zi) {
    const values = zi.values.map(String);
    return `${didYouMean(nearest(String(given), values))} Use one of: ${values.join(', ')}.`.trim();
  }
  if (zi.code === 'invalid_type' && given === undefined) return `Add ${name}: it is required${about}.`;
  if (zi.code === 'invalid_type') return `Write ${name} as ${zi.expected}${about}.`;
  return `Change ${name}: ${zi.message}${about}.`;
}
