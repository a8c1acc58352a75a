import { demoConfig } from './app.js';

/** A plain HTTP client of spawned sealab gateways, for the multi-process tests: REST, OFREP, /readyz and /metrics. */

export interface Reply {
  status: number;
  json: any;
  text: string;
}

export async function call(base: string, method: string, route: string, body?: unknown): Promise<Reply> {
  const res = await fetch(base + route, {
    method,
    headers: { 'content-type': 'application/json', 'x-actor': 'gateway-fault-test' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON: the text says what it is */
  }
  return { status: res.status, json, text };
}

export const confirmation = { reason: 'approved in the gateway fault test' };

export interface Validated {
  id: string;
  key: string;
  planHash: string;
}

/** A draft on Home that shows `contentId` in shelf-2 to its treatment (experiments on the slot own disjoint buckets), validated. */
export async function validated(base: string, key: string, contentId: string, allocationPercent: number): Promise<Validated> {
  const variants = [
    { key: 'control', isControl: true, weight: 50, overrides: [] },
    { key: 'treatment', weight: 50, overrides: [{ slotId: 'shelf-2', contentId }] },
  ];
  const config = demoConfig({ key, variants, allocationPercent, rampPlan: { stages: [] } });
  const created = await call(base, 'POST', '/v1/experiments', { config });
  if (created.status !== 201) throw new Error(`create ${key}: ${created.status} ${created.text}`);
  const id = created.json.experiment.id as string;
  const v = await call(base, 'POST', `/v1/experiments/${id}/validate`);
  if (v.json?.valid !== true) throw new Error(`validate ${key}: ${v.status} ${v.text}`);
  return { id, key, planHash: v.json.planHash as string };
}

/** POST …/deploy of a validated experiment's version 1. */
export function deploy(base: string, e: Validated, idempotencyKey?: string): Promise<Reply> {
  return call(base, 'POST', `/v1/experiments/${e.id}/deploy`, {
    version: 1,
    planHash: e.planHash,
    confirmation,
    ...(idempotencyKey ? { idempotencyKey } : {}),
  });
}

/** What a unit is served for a flag through OFREP: the variant, or 'out' when it is outside the experiment. */
export async function served(base: string, flagKey: string, unit: string): Promise<string> {
  const r = await call(base, 'POST', `/ofrep/v1/evaluate/flags/${flagKey}`, { context: { targetingKey: unit } });
  if (r.status !== 200) throw new Error(`OFREP ${flagKey} for ${unit} at ${base}: ${r.status} ${r.text}`);
  return r.json.metadata?.inExperiment === true ? String(r.json.variant) : 'out';
}

/**
 * Units picked by arm from what `base` serves: every unit of `key`-u0…u399 with what it is served. Throws (so an
 * `eventually` asks again) until `base` serves the experiment to at least two units of each arm.
 */
export async function unitsByArm(base: string, key: string): Promise<Map<string, string>> {
  const units = Array.from({ length: 400 }, (_, i) => `${key}-u${i}`);
  const answers = new Map<string, string>();
  for (let i = 0; i < units.length; i += 20) {
    const chunk = units.slice(i, i + 20);
    const got = await Promise.all(chunk.map((u) => served(base, key, u)));
    chunk.forEach((u, j) => answers.set(u, got[j]));
  }
  const count = (arm: string) => [...answers.values()].filter((v) => v === arm).length;
  if (count('control') < 2 || count('treatment') < 2)
    throw new Error(`${base} does not serve ${key} to both arms yet (control ${count('control')}, treatment ${count('treatment')})`);
  return answers;
}

/** Throws unless `base` serves every unit what `expected` says. */
export async function servesAlike(base: string, key: string, expected: Map<string, string>): Promise<void> {
  const entries = [...expected];
  for (let i = 0; i < entries.length; i += 20) {
    const chunk = entries.slice(i, i + 20);
    const got = await Promise.all(chunk.map(([u]) => served(base, key, u)));
    chunk.forEach(([unit, arm], j) => {
      if (got[j] !== arm) throw new Error(`${base} serves ${unit} '${got[j]}' for ${key}, expected '${arm}'`);
    });
  }
}

/** How many commit-to-serving times this replica observed (sealab_config_propagation_seconds' count, from /metrics). */
export async function propagationSamples(base: string): Promise<number> {
  const r = await call(base, 'GET', '/metrics');
  const m = /^sealab_config_propagation_seconds_count(?:\{[^}]*\})? (\d+)/m.exec(r.text);
  return m ? Number(m[1]) : 0;
}

/** Retries `check` until it stops throwing; the deadline only ends a broken run (nothing here is timed). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Waits for a condition; `what` names it when the deadline passes. */
export async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
