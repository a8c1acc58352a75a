import ky, { type KyInstance } from 'ky';

export interface SimulationOptions {
  url: string;
  token?: string;
  /** Experiment id or key; omitted: create, validate and deploy a demo experiment on Home. */
  experiment?: string;
  units: number;
  /** True relative effect of the treatment on the success metric, e.g. 0.08 for +8%. */
  effect: number;
  seed: number;
  out: (line: string) => void;
  /** Custom fetch (tests call the hono app in process). */
  fetch?: typeof fetch;
}

/** mulberry32: a small seeded PRNG so a simulation is reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const normal = (rand: () => number) => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

export const DEMO_EXPERIMENT = {
  key: 'demo-home-focus-shelf',
  name: 'Focus shelf in the second Home slot',
  hypothesis: 'Showing the Focus shelf in shelf-2 instead of Daily Mix 1 raises the share of users who stream from Home.',
  owner: 'demo',
  surfaceId: 'home',
  variants: [
    { key: 'control', isControl: true, weight: 50, overrides: [] },
    { key: 'focus', weight: 50, overrides: [{ slotId: 'shelf-2', contentId: 'sh-focus' }] },
  ],
  // Starts at the policy's first-stage cap and ramps to 20% once deployed.
  allocationPercent: 10,
  rampPlan: { stages: [20] },
  successMetrics: ['stream-rate'],
  guardrails: [
    { metricId: 'crash-rate', margin: 0.02 },
    { metricId: 'latency-ms', margin: 0.05 },
  ],
  analysisPlan: { alpha: 0.05, power: 0.8, mde: 0.05, durationDays: 14, sequential: true },
};

/**
 * Drives synthetic traffic through the HTTP API like real services would: each unit asks the
 * assignment endpoint for its layout (which records the exposure), then its metric events are
 * posted in batches to /v1/events. Treatment units stream with probability baseline × (1 + effect).
 */
export async function runSimulation(o: SimulationOptions): Promise<{ experimentId: string; units: number; exposed: number }> {
  const api = ky.create({
    prefixUrl: `${o.url.replace(/\/$/, '')}/v1`,
    timeout: 15_000,
    headers: o.token ? { authorization: `Bearer ${o.token}` } : {},
    ...(o.fetch ? { fetch: o.fetch } : {}),
  });
  const rand = prng(o.seed);
  const exp = await ensureExperiment(api, o);
  o.out(`simulating ${o.units} units on '${exp.surfaceId}' for ${exp.key} (${exp.id}), true effect ${(o.effect * 100).toFixed(1)}%`);
  // Events follow their exposures: just after the server's time, which on a simulated clock stands still and may be far from the wall clock.
  const clock = await api
    .get('clock')
    .json<{ now: string; simulated: boolean }>()
    .catch(() => ({ now: '', simulated: false }));
  const ts = () => new Date((clock.simulated ? Date.parse(clock.now) : Date.now()) + 1000).toISOString();
  let exposed = 0;
  let batch: unknown[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const r = await api.post('events', { json: { events: batch } }).json<{ accepted: number; rejected: unknown[] }>();
    if (r.rejected.length) o.out(`  ${r.rejected.length} events rejected: ${JSON.stringify(r.rejected[0])}`);
    batch = [];
  };
  const CONCURRENCY = 32;
  for (let start = 0; start < o.units; start += CONCURRENCY) {
    const ids = Array.from({ length: Math.min(CONCURRENCY, o.units - start) }, (_, k) => `sim-${o.seed}-${start + k}`);
    const answers = await Promise.all(
      ids.map((unit) =>
        api.get(`surfaces/${exp.surfaceId}/assignment`, { searchParams: { unit } }).json<{ assignments: { experimentId: string; variant: string }[] }>(),
      ),
    );
    answers.forEach((a, k) => {
      const mine = a.assignments.find((x) => x.experimentId === exp.id);
      if (!mine) return;
      exposed++;
      batch.push(...unitEvents(ids[k], mine.variant !== exp.control ? 1 + o.effect : 1, rand, ts()));
    });
    if (batch.length >= 1000) await flush();
    const done = start + ids.length;
    if (done % 5000 < CONCURRENCY) o.out(`  ${done} units, ${exposed} in the experiment`);
  }
  await flush();
  o.out(`done: ${exposed} of ${o.units} units exposed. Now call get_metrics {"experimentId":"${exp.id}"} or GET /v1/experiments/${exp.id}/metrics`);
  return { experimentId: exp.id, units: o.units, exposed };
}

/** One unit's metric events after exposure: a stream (success metric) with the treatment's lift, crashes, latency. */
function unitEvents(unit: string, lift: number, rand: () => number, ts: string): unknown[] {
  const out: unknown[] = [];
  if (rand() < 0.32 * lift) out.push({ id: `${unit}-stream`, type: 'metric', unitId: unit, metricId: 'stream-rate', value: 1, timestamp: ts });
  if (rand() < 0.004) out.push({ id: `${unit}-crash`, type: 'metric', unitId: unit, metricId: 'crash-rate', value: 1, timestamp: ts });
  out.push({ id: `${unit}-latency`, type: 'metric', unitId: unit, metricId: 'latency-ms', value: Math.max(50, 320 + 80 * normal(rand)), timestamp: ts });
  return out;
}

interface ExpInfo {
  id: string;
  key: string;
  surfaceId: string;
  control: string;
}

/** The experiment to drive: the one named, or the demo experiment on Home (created, validated and deployed when missing). */
export async function ensureExperiment(api: KyInstance, o: Pick<SimulationOptions, 'experiment' | 'out'>): Promise<ExpInfo> {
  type E = { id: string; key: string; surfaceId: string; status: string; version: number; variants: { key: string; isControl: boolean }[] };
  const info = (e: E): ExpInfo => ({ id: e.id, key: e.key, surfaceId: e.surfaceId, control: e.variants.find((v) => v.isControl)?.key ?? 'control' });
  if (o.experiment) {
    const { experiment } = await api.get(`experiments/${encodeURIComponent(o.experiment)}`).json<{ experiment: E }>();
    if (experiment.status !== 'running') throw new Error(`experiment ${experiment.key} is ${experiment.status}; deploy it first (deploy_to_surface)`);
    return info(experiment);
  }
  const created = await api.post('experiments', { json: { config: DEMO_EXPERIMENT, idempotencyKey: 'demo-home-focus-shelf-v1' }, throwHttpErrors: false });
  let exp: E;
  if (created.ok) exp = ((await created.json()) as { experiment: E }).experiment;
  else exp = (await api.get(`experiments/${DEMO_EXPERIMENT.key}`).json<{ experiment: E }>()).experiment;
  if (exp.status === 'draft') {
    const v = await api.post(`experiments/${exp.id}/validate`).json<{ valid: boolean; planHash: string; findings: { code: string; message: string }[] }>();
    if (!v.valid) throw new Error(`demo experiment failed validation: ${v.findings.map((f) => f.code).join(', ')}`);
    // REST cannot show a confirmation form: the operator running `sealab simulate` is the human confirming.
    const confirmation = { reason: 'sealab simulate: synthetic demo traffic, started by the operator' };
    const started = await api
      .post(`experiments/${exp.id}/deploy`, { json: { version: exp.version, planHash: v.planHash, confirmation } })
      .json<{ experiment: E; planHash: string }>();
    const target = DEMO_EXPERIMENT.rampPlan.stages[0];
    exp = (
      await api
        .post(`experiments/${exp.id}/deploy`, {
          json: { version: started.experiment.version, planHash: started.planHash, allocationPercent: target, confirmation },
        })
        .json<{ experiment: E }>()
    ).experiment;
    o.out(`created, validated and deployed ${exp.key} (${exp.id}) at ${DEMO_EXPERIMENT.allocationPercent}%, ramped to ${target}%`);
  }
  if (exp.status !== 'running') throw new Error(`demo experiment is ${exp.status}; pass --experiment with a running one`);
  return info(exp);
}
