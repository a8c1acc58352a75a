import { bucketOf, inRanges } from '../domain/assignment.js';
import { drawMetric, type CatalogMetric } from './metric-draws.js';
import { SimApi, type SimExperiment, type SimSurface, type SimTick } from './sim-api.js';
import { ensureExperiment, prng } from './simulate.js';

const HOUR_MS = 3_600_000;
/** Requests to the assignment endpoint in flight at once. */
const CONCURRENCY = 32;
/** Event batches: at least this many per POST when there are that many, and under the default 1 MiB body limit. */
const BATCH_MIN = 1000;
const BATCH_MAX = 5000;
const BATCH_MAX_BYTES = 800_000;

/** A true relative effect on one metric of one experiment's treatment arms (`--effects key:metric=E`). */
export interface EffectSpec {
  /** Experiment id or key. */
  experiment: string;
  metricId: string;
  effect: number;
}

/** A harmful relative change on a guardrail in treatment (`--harm [key:]metric=E`): up for a metric that should decrease, down otherwise. */
export interface HarmSpec {
  /** Experiment id or key; omitted: every targeted experiment that measures the metric. */
  experiment?: string;
  metricId: string;
  /** Size of the harm, e.g. 0.5 for 50% worse. */
  effect: number;
}

export interface SimulateDaysOptions {
  url: string;
  token?: string;
  /** Days to simulate; the server must run on a simulated clock. */
  days: number;
  /** Experiment id or key to target; omitted: every running experiment (the demo experiment is created when none runs). */
  experiment?: string;
  /** Units arriving per day on each surface with a running experiment; default: the surface's dailyTraffic. */
  unitsPerDay?: number;
  /** True relative effect on the success metrics of the targeted experiments' treatment arms (default 0). */
  effect?: number;
  effects?: EffectSpec[];
  harm?: HarmSpec[];
  /** Stop once every targeted experiment has a decision other than keep_running. */
  untilDecision?: boolean;
  /** Metrics whose events never arrive (a broken event pipeline), e.g. ["latency-ms"]: what blind-metric gates are for. */
  silence?: string[];
  seed: number;
  out: (line: string) => void;
  /** Custom fetch (tests call the hono app in process). */
  fetch?: typeof fetch;
}

/** One targeted experiment at the end of a simulated day. */
export interface SimulatedExperimentDay {
  experimentId: string;
  key: string;
  status: string;
  allocationPercent: number;
  unitsPerArm: { variant: string; units: number }[];
  /** What the ramp scheduler did to it that day (advanced, rolled back, refused...). */
  ramp: SimTick[];
  /** The decision of GET /v1/experiments/{id}/metrics: ship, keep_running, roll_back, inconclusive... */
  decision: string;
  reasons: string[];
}

export interface SimulatedDay {
  day: number;
  /** Simulated time at the start and the end of the day. */
  from: string;
  to: string;
  /** Units that arrived on surfaces with running experiments. */
  units: number;
  /** Units in at least one experiment: the ones that asked for an assignment and sent events. */
  exposed: number;
  events: number;
  rejected: number;
  experiments: SimulatedExperimentDay[];
}

export interface SimulatedDaysLog {
  targets: { experimentId: string; key: string }[];
  days: SimulatedDay[];
  stoppedBecause: 'days' | 'concluded' | 'decision';
}

/**
 * Rehearses days of an experiment against a server on a simulated clock. Hour by hour, each
 * surface with a running experiment receives its share of the day's units (random ids from the
 * seeded PRNG). A unit whose bucket (computed here, with the surface's salt) no running experiment
 * owns sees the default layout and is not measured, so it is counted but never requested; every
 * other unit asks GET /v1/surfaces/{id}/assignment (recording its exposures) and then sends events
 * for every metric of every experiment it is in, drawn from the catalog baselines with each
 * experiment's true treatment effect (default 0) multiplied in. Then the clock moves one hour,
 * which ticks the ramp scheduler, and the hour's events are posted (their timestamps fall inside
 * that hour). Returns a per-day log; prints one line per targeted experiment per day.
 */
export async function runSimulatedDays(o: SimulateDaysOptions): Promise<SimulatedDaysLog> {
  const api = new SimApi(o);
  const clock = await api.clock().catch((err: Error) => {
    throw new Error(`cannot read the clock of ${o.url} (${err.message}); sealab simulate --days needs a server started with --simulated-clock`);
  });
  if (!clock.simulated)
    throw new Error(
      `the server at ${o.url} runs on the wall clock; sealab simulate --days needs one started with \`sealab serve --simulated-clock\` (without --days, simulate sends traffic at the wall clock)`,
    );
  const catalog = new Map((await api.metrics()).map((m) => [m.id, m]));
  const targets = await chooseTargets(api, o);
  const rand = prng(o.seed);
  const sim = new Traffic(api, o, catalog, targets, rand);
  o.out(`simulating ${o.days} day(s) from ${clock.now} for ${targets.map((t) => t.key).join(', ')}`);
  const log: SimulatedDaysLog = { targets: targets.map((t) => ({ experimentId: t.id, key: t.key })), days: [], stoppedBecause: 'days' };
  for (let day = 1; day <= o.days; day++) {
    const from = (await api.clock()).now;
    const totals = { units: 0, exposed: 0, events: 0, rejected: 0 };
    const ticks: SimTick[] = [];
    for (let hour = 0; hour < 24; hour++) {
      const hourStart = Date.parse((await api.clock()).now);
      const running = (await api.experiments()).filter((e) => e.status === 'running');
      const hourly = await sim.hour(running, hour, hourStart);
      totals.units += hourly.units;
      totals.exposed += hourly.exposed;
      ticks.push(...(await api.advance(1)).ticks);
      await sim.post(totals, hour === 23);
    }
    const experiments = await Promise.all(targets.map((t) => summary(api, t.id, ticks)));
    const to = (await api.clock()).now;
    log.days.push({ day, from, to, ...totals, experiments });
    for (const e of experiments) o.out(line(day, e));
    if (experiments.every((e) => e.status !== 'running' && e.status !== 'paused')) {
      log.stoppedBecause = 'concluded';
      break;
    }
    if (o.untilDecision && experiments.every((e) => e.decision !== 'keep_running')) {
      log.stoppedBecause = 'decision';
      break;
    }
  }
  return log;
}

async function chooseTargets(api: SimApi, o: SimulateDaysOptions): Promise<SimExperiment[]> {
  if (o.experiment) {
    const e = await api.experiment(o.experiment);
    if (e.status !== 'running') throw new Error(`experiment ${e.key} is ${e.status}; deploy it first (deploy_to_surface), or pick a running one`);
    return [e];
  }
  const running = (await api.experiments()).filter((e) => e.status === 'running');
  if (running.length) return running;
  const demo = await ensureExperiment(api.ky, { out: o.out });
  return [await api.experiment(demo.id)];
}

/** The day's traffic, one hour at a time, and the events waiting to be posted once their hour has passed. */
class Traffic {
  private readonly surfaces = new Map<string, SimSurface>();
  private readonly lifts = new Map<string, Map<string, number>>();
  private pending: unknown[] = [];

  constructor(
    private readonly api: SimApi,
    private readonly o: SimulateDaysOptions,
    private readonly catalog: Map<string, CatalogMetric>,
    private readonly targets: SimExperiment[],
    private readonly rand: () => number,
  ) {
    for (const spec of [...(o.effects ?? []), ...(o.harm ?? []), ...(o.silence ?? []).map((metricId) => ({ metricId }))]) {
      if (!catalog.has(spec.metricId)) throw new Error(`metric '${spec.metricId}' is not in the catalog (GET /v1/metrics lists them)`);
    }
  }

  async hour(running: SimExperiment[], hour: number, hourStart: number): Promise<{ units: number; exposed: number }> {
    const byId = new Map(running.map((e) => [e.id, e]));
    let units = 0;
    let exposed = 0;
    for (const surfaceId of [...new Set(running.map((e) => e.surfaceId))]) {
      const s = await this.surface(surfaceId);
      const onSurface = running.filter((e) => e.surfaceId === surfaceId);
      const perDay = this.o.unitsPerDay ?? s.dailyTraffic;
      const n = Math.floor(((hour + 1) * perDay) / 24) - Math.floor((hour * perDay) / 24);
      units += n;
      const asks: { unit: string; platform: string }[] = [];
      for (let i = 0; i < n; i++) {
        const unit = `u${this.o.seed}-${((this.rand() * 2 ** 32) >>> 0).toString(36)}${((this.rand() * 2 ** 32) >>> 0).toString(36)}`;
        const bucket = bucketOf(s.salt, unit, s.bucketCount);
        // Outside every running experiment's buckets: the default layout, no exposure, nothing to measure.
        if (!onSurface.some((e) => inRanges(e.buckets, bucket))) continue;
        asks.push({ unit, platform: s.platforms[Math.floor(this.rand() * s.platforms.length)] });
      }
      for (let i = 0; i < asks.length; i += CONCURRENCY) {
        const chunk = asks.slice(i, i + CONCURRENCY);
        const answers = await Promise.all(chunk.map((a) => this.api.assign(surfaceId, a.unit, a.platform)));
        answers.forEach((answer, k) => {
          const inExperiments = answer.assignments.filter((a) => byId.has(a.experimentId));
          if (!inExperiments.length) return; // e.g. targeted at other platforms
          exposed++;
          this.pending.push(...this.unitEvents(chunk[k].unit, inExperiments, byId, hourStart));
        });
      }
    }
    return { units, exposed };
  }

  /** Posts the events whose hour has passed, in batches of BATCH_MIN to BATCH_MAX (all of them at the end of a day). */
  async post(totals: { events: number; rejected: number }, all: boolean): Promise<void> {
    if (!all && this.pending.length < BATCH_MIN) return;
    const events = this.pending;
    this.pending = [];
    for (let i = 0; i < events.length; ) {
      let bytes = 0;
      let j = i;
      while (j < events.length && j - i < BATCH_MAX && bytes < BATCH_MAX_BYTES) bytes += JSON.stringify(events[j++]).length + 1;
      const r = await this.api.events(events.slice(i, j));
      totals.events += r.accepted;
      totals.rejected += r.rejected.length;
      if (r.rejected.length) this.o.out(`  ${r.rejected.length} events rejected, e.g. ${r.rejected[0].code}: ${r.rejected[0].message}`);
      i = j;
    }
  }

  /** Events for the union of the unit's experiments' metrics; each experiment's treatment lifts multiply. */
  private unitEvents(unit: string, assignments: { experimentId: string; variant: string }[], byId: Map<string, SimExperiment>, hourStart: number) {
    const metricIds = new Set<string>();
    const lift = new Map<string, number>();
    for (const a of assignments) {
      const e = byId.get(a.experimentId)!;
      for (const id of metricsOf(e, this.catalog)) metricIds.add(id);
      const control = e.variants.find((v) => v.isControl)?.key ?? 'control';
      if (a.variant === control) continue;
      for (const [id, l] of this.liftsOf(e)) lift.set(id, (lift.get(id) ?? 1) * l);
    }
    const out: unknown[] = [];
    for (const metricId of metricIds) {
      if (this.o.silence?.includes(metricId)) continue;
      const m = this.catalog.get(metricId)!;
      const value = drawMetric(m, lift.get(metricId) ?? 1, this.rand);
      if (value === null) continue;
      const timestamp = new Date(hourStart + 1000 + Math.floor(this.rand() * (HOUR_MS - 2000))).toISOString();
      out.push({ id: `${unit}.${metricId}`, type: 'metric', unitId: unit, metricId, value: Math.round(value * 1000) / 1000, timestamp });
    }
    return out;
  }

  /** Treatment lift per event metric of one experiment: --effect on targeted success metrics, --effects, --harm; a ratio's lift moves its numerator. */
  private liftsOf(e: SimExperiment): Map<string, number> {
    const cached = this.lifts.get(e.id);
    if (cached) return cached;
    const named = (ref: string | undefined) => ref === e.id || ref === e.key;
    const targeted = this.targets.some((t) => t.id === e.id);
    const relative = new Map<string, number>();
    if (targeted && this.o.effect) for (const id of e.successMetrics) relative.set(id, this.o.effect);
    for (const s of this.o.effects ?? []) if (named(s.experiment)) relative.set(s.metricId, s.effect);
    const lifts = new Map<string, number>();
    const apply = (metricId: string, factor: number) => {
      const m = this.catalog.get(metricId);
      const target = m?.kind === 'ratio' && m.numeratorId ? m.numeratorId : metricId;
      lifts.set(target, (lifts.get(target) ?? 1) * factor);
    };
    for (const [id, r] of relative) apply(id, 1 + r);
    const measured = new Set([...e.successMetrics, ...e.guardrails.map((g) => g.metricId)]);
    for (const h of this.o.harm ?? []) {
      if (!(h.experiment ? named(h.experiment) : targeted && measured.has(h.metricId))) continue;
      apply(h.metricId, this.catalog.get(h.metricId)?.direction === 'decrease' ? 1 + h.effect : Math.max(0, 1 - h.effect));
    }
    this.lifts.set(e.id, lifts);
    return lifts;
  }

  private async surface(id: string): Promise<SimSurface> {
    let s = this.surfaces.get(id);
    if (!s) this.surfaces.set(id, (s = await this.api.surface(id)));
    return s;
  }
}

/** The metrics that get events for a unit in the experiment: success metrics and guardrails, a ratio through its numerator and denominator. */
function metricsOf(e: SimExperiment, catalog: Map<string, CatalogMetric>): string[] {
  return [...e.successMetrics, ...e.guardrails.map((g) => g.metricId)].flatMap((id) => {
    const m = catalog.get(id);
    if (!m) return [];
    return m.kind === 'ratio' ? [m.numeratorId, m.denominatorId].filter((x): x is string => Boolean(x)) : [id];
  });
}

async function summary(api: SimApi, id: string, ticks: SimTick[]): Promise<SimulatedExperimentDay> {
  const [e, report] = await Promise.all([api.experiment(id), api.report(id)]);
  return {
    experimentId: e.id,
    key: e.key,
    status: e.status,
    allocationPercent: e.allocationPercent,
    unitsPerArm: report.exposures.map((x) => ({ variant: x.variant, units: x.units })),
    ramp: ticks.filter((t) => t.experimentId === id),
    decision: report.decision?.decision ?? 'unknown',
    reasons: report.decision?.reasons ?? [],
  };
}

function line(day: number, e: SimulatedExperimentDay): string {
  const arms = e.unitsPerArm.map((a) => `${a.variant} ${a.units}`).join(', ') || 'no units yet';
  // The same outcome every hour (e.g. a refused advance) is said once, with how many times.
  const said = new Map<string, number>();
  for (const t of e.ramp) {
    const text = `${t.action} (${t.reason.slice(0, 100)})`;
    said.set(text, (said.get(text) ?? 0) + 1);
  }
  const ramp = said.size ? [...said].map(([text, n]) => (n > 1 ? `${text} ×${n}` : text)).join('; ') : 'no change';
  return `day ${day}  ${e.key}  ${e.status} at ${e.allocationPercent}%  units: ${arms}  ramp: ${ramp}  decision: ${e.decision}`;
}
