import { defineRule, finding } from './types.js';

/** Reported by the catalog runner when the config does not parse; never by check(). */
export const schemaRule = defineRule({
  code: 'SCHEMA',
  family: 'schema',
  severity: 'error',
  rationale: 'Every other rule reads a well-formed config; a malformed one cannot be judged.',
  fix: 'Correct the field at the path to match the experiment schema (create_experiment lists it with examples).',
  patchable: false,
  check: () => [],
});

export const keyNamingRule = defineRule({
  code: 'KEY_NAMING',
  family: 'schema',
  severity: 'warning',
  rationale: 'Keys that start with the surface id sort and read by surface in lists, dashboards and OFREP flag keys.',
  fix: 'Prefix the key with the surface id, e.g. "home-focus-shelf".',
  patchable: true,
  check: (c) => {
    if (c.key === c.surfaceId || c.key.startsWith(`${c.surfaceId}-`)) return [];
    const key = `${c.surfaceId}-${c.key}`.slice(0, 64);
    return [
      finding(keyNamingRule, '$.key', `key '${c.key}' does not start with the surface id '${c.surfaceId}'`, `Rename it to "${key}".`, [
        { op: 'replace', path: '/key', value: key },
      ]),
    ];
  },
});
