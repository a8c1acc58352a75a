import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import type { SqliteContainer } from '../../src/container.js';
import { memoryClient, testContainer } from '../helpers/app.js';

/**
 * The portability rules `mcp-inspector --cli --method tools/list --strict` checks (scripts/inspector-strict.sh
 * runs the real one in CI): no boolean subschemas, no `type` arrays, no schema that constrains nothing.
 */
const ANNOTATIONS = new Set(['description', 'default', 'title', 'examples', 'deprecated', 'readOnly', 'writeOnly']);
const SUBSCHEMA_SLOTS = ['items', 'not', 'contains', 'propertyNames', 'if', 'then', 'else'];
const SUBSCHEMA_MAPS = ['properties', '$defs', 'patternProperties'];
const SUBSCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];

function problems(schema: unknown, path: string, out: string[] = []): string[] {
  if (typeof schema === 'boolean') {
    out.push(`${path}: bare ${schema}`);
    return out;
  }
  const s = schema as Record<string, unknown>;
  if (Array.isArray(s.type)) out.push(`${path}: type array ${JSON.stringify(s.type)}`);
  if (!Object.keys(s).some((k) => !ANNOTATIONS.has(k))) out.push(`${path}: unconstrained`);
  for (const k of SUBSCHEMA_SLOTS) if (k in s) problems(s[k], `${path}.${k}`, out);
  if (typeof s.additionalProperties === 'object') problems(s.additionalProperties, `${path}.additionalProperties`, out);
  for (const k of SUBSCHEMA_MAPS) for (const [name, v] of Object.entries((s[k] ?? {}) as Record<string, unknown>)) problems(v, `${path}.${k}.${name}`, out);
  for (const k of SUBSCHEMA_LISTS) ((s[k] ?? []) as unknown[]).forEach((v, i) => problems(v, `${path}.${k}[${i}]`, out));
  return out;
}

let app: SqliteContainer;
let client: Client;
beforeAll(async () => {
  app = await testContainer();
  client = await memoryClient(app); // every toolset
});
afterAll(async () => {
  await client.close();
  app.close();
});

describe('listed schemas are portable (Inspector --strict rules)', () => {
  it('no boolean subschemas, no type arrays, nothing unconstrained, in any tool', async () => {
    const { tools } = await client.listTools();
    expect(tools.length).toBeGreaterThan(12);
    const found = tools.flatMap((t) => [...problems(t.inputSchema, `${t.name}.inputSchema`), ...problems(t.outputSchema, `${t.name}.outputSchema`)]);
    expect(found).toEqual([]);
  });

  it('the checker catches each rule', () => {
    expect(problems({ type: 'object', properties: { a: { type: ['string', 'null'] }, b: {}, c: { type: 'array', items: false } } }, 'x')).toEqual([
      'x.properties.a: type array ["string","null"]',
      'x.properties.b: unconstrained',
      'x.properties.c.items: bare false',
    ]);
  });
});
