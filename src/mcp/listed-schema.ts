import { z } from 'zod';
import { ID_PATTERN as ID_REGEX } from '../domain/schemas.js';

/** A JSON Schema object as tools/list carries it. */
export type JsonSchema = { [key: string]: unknown };

const ANNOTATIONS = new Set(['description', 'default', 'title', 'examples', 'deprecated', 'readOnly', 'writeOnly']);
/** Constraints an agent never needs to read an answer: the server built it (zod still checks every answer). */
const OUTPUT_NOISE = new Set([
  'default',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
]);
const SCHEMA_MAPS = ['properties', '$defs', 'patternProperties'];
const SCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];
const SCHEMA_SLOTS = ['items', 'additionalProperties', 'not', 'contains', 'propertyNames', 'if', 'then', 'else'];
const ID_PATTERN = ID_REGEX.source;
/** Root = 0, its properties = 1. */
const OUTPUT_DESCRIBED_DEPTH = 1;
const ANY_JSON: JsonSchema[] = ['string', 'number', 'boolean', 'object', 'array', 'null'].map((type) => ({ type }));

/**
 * The JSON Schema agents see for a zod schema: portable (what `mcp-inspector --strict` asks for: no
 * boolean subschemas, no `type` arrays, nothing unconstrained) and compact (no `$schema`; answers
 * drop input-only constraints and defaults). Zod stays the validator; this is only what is listed.
 */
export function listedJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const full = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    override: (ctx) => {
      const lean = LISTED_AS.get(ctx.zodSchema as unknown as z.ZodType);
      if (!lean) return;
      for (const key of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as JsonSchema)[key];
      Object.assign(ctx.jsonSchema, typeof lean === 'function' ? lean(io) : lean, { [LISTED]: true });
    },
  }) as JsonSchema;
  const { $schema: _dialect, ...json } = full;
  const listed = portable(json, io, 0);
  // The root's required list stays: the fields every answer has.
  if (io === 'output' && json.required) listed.required = json.required;
  return listed;
}

/** Marks a node listedAs replaced, until portable() has seen it. */
const LISTED = 'x-sealab-listed';
const LISTED_AS = new WeakMap<z.ZodType, JsonSchema | ((io: 'input' | 'output') => JsonSchema)>();

/**
 * Lists `schema` as `json` (a looser, shorter shape that every valid value still matches) while zod
 * keeps validating with the whole of it: for deep shapes an agent reads elsewhere in full (a resource,
 * another tool). Returns the schema itself.
 */
export function listedAs<T extends z.ZodType>(schema: T, json: JsonSchema | ((io: 'input' | 'output') => JsonSchema)): T {
  LISTED_AS.set(schema, json);
  return schema;
}

/**
 * An object schema's top level only: each property keeps its type(s) and description, nested shapes
 * become plain `object` / `array`.
 */
export function topLevelOf(schema: z.ZodType, description?: string): (io: 'input' | 'output') => JsonSchema {
  return (io) => {
    const { $schema: _d, ...full } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
    const props = (full.properties ?? {}) as Record<string, JsonSchema>;
    const shallow = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, typeOnly(v, false)]));
    return { type: 'object', ...(description ? { description } : {}), properties: shallow, ...(full.required ? { required: full.required } : {}) };
  };
}

/** A schema reduced to its type(s) (and description): what a shallow listing keeps of a property. */
function typeOnly(v: JsonSchema, described = true): JsonSchema {
  const keep = described && v.description ? { description: v.description } : {};
  if (v.type !== undefined) return { type: v.type, ...(v.enum ? { enum: v.enum } : {}), ...keep };
  if (v.const !== undefined) return { type: typeof v.const, ...keep };
  const branches = (v.anyOf ?? v.oneOf) as JsonSchema[] | undefined;
  if (branches) {
    const types = [...new Set(branches.flatMap((b) => (b.type === undefined ? ['object'] : ([] as unknown[]).concat(b.type))))];
    return types.length === 1 ? { type: types[0], ...keep } : { anyOf: types.map((t) => ({ type: t })), ...keep };
  }
  return { ...v };
}

function portable(node: JsonSchema, io: 'input' | 'output', depth: number): JsonSchema {
  let s: JsonSchema = {};
  const sub = (v: JsonSchema) => portable(v, io, depth + 1);
  for (const [key, value] of Object.entries(node)) {
    if (io === 'output' && OUTPUT_NOISE.has(key)) continue;
    // `{}` for "any value" where an object's extra keys are meant: the explicit `true`.
    if (key === 'additionalProperties' && isEmpty(value)) s[key] = true;
    else if (SCHEMA_MAPS.includes(key)) s[key] = mapValues(value as Record<string, JsonSchema>, sub);
    else if (SCHEMA_LISTS.includes(key)) s[key] = (value as JsonSchema[]).map(sub);
    else if (SCHEMA_SLOTS.includes(key) && typeof value === 'object' && value !== null) s[key] = sub(value as JsonSchema);
    else s[key] = value;
  }
  // Zod's integer bounds say nothing an agent needs.
  if (s.maximum === Number.MAX_SAFE_INTEGER) delete s.maximum;
  if (s.minimum === Number.MIN_SAFE_INTEGER) delete s.minimum;
  // Ids: the pattern repeated at every reference costs more than it tells; the server checks it and says so.
  if (s.pattern === ID_PATTERN) {
    delete s.pattern;
    delete s.minLength;
    delete s.maxLength;
  }
  // Nested required lists in answers: the listed shape is what to read, the root says what is always there.
  if (io === 'output') delete s.required;
  // Answers explain their top-level fields; deeper ones are named well enough (and the tool description
  // says the rest), except a shape listed by name (listedAs), whose description is what it lists.
  if (io === 'output' && depth > OUTPUT_DESCRIBED_DEPTH && !s[LISTED]) delete s.description;
  delete s[LISTED];
  // A record's keys are strings in JSON anyway.
  if (isTypeString(s.propertyNames)) delete s.propertyNames;
  if (isEmpty(s.properties)) delete s.properties;
  // Answers may grow fields; a listed answer shape is what an agent can rely on, not all there is.
  if (io === 'output' && s.additionalProperties === false) delete s.additionalProperties;
  if (s.items === false) {
    // A tuple: maxItems already says nothing follows the prefix (an answer's tuple is read, not checked).
    if (Array.isArray(s.prefixItems) && (io === 'output' || s.maxItems === s.prefixItems.length)) delete s.items;
    else s.items = { not: {} };
  }
  if (Array.isArray(s.type)) s = splitTypes(s);
  if (!Object.keys(s).some((k) => !ANNOTATIONS.has(k))) s = { ...s, anyOf: ANY_JSON };
  return s;
}

/** `{type: ["string", "null"], maxLength: 5}` → `{anyOf: [{type: "string", maxLength: 5}, {type: "null"}]}`. */
function splitTypes(s: JsonSchema): JsonSchema {
  const outer: JsonSchema = {};
  const inner: JsonSchema = {};
  for (const [key, value] of Object.entries(s)) (ANNOTATIONS.has(key) ? outer : inner)[key] = value;
  const { type, ...constraints } = inner;
  const branches = (type as string[]).map((t) => (t === 'null' ? { type: t } : { type: t, ...constraints }));
  return { anyOf: branches, ...outer };
}

const isEmpty = (v: unknown) => typeof v === 'object' && v !== null && Object.keys(v).length === 0;
const isTypeString = (v: unknown) => typeof v === 'object' && v !== null && Object.keys(v).length === 1 && (v as JsonSchema).type === 'string';
const mapValues = <T, U>(o: Record<string, T>, f: (v: T) => U) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
