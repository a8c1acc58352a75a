import { analyzeExperiment, type Analysis } from '../../domain/analysis/analyze-experiment.js';
import type { ArmStats } from '../../domain/analysis/compare-arms.js';
import { resolveSurfacePolicy } from '../../domain/policy.js';
import type { Experiment, Metric } from '../../domain/schemas.js';
import { sizeExperiment } from '../../domain/sizing.js';
import type { AppDeps } from '../context.js';
import type { ExperimentService } from '../experiments/experiment-service.js';
import { plannable } from '../planning/plannable.js';
import { dailyLooksOf, effectHistory } from '../../domain/analysis/effect-history.js';
import type { MetricsHistory } from './metrics-history.js';
import { rampEvents } from '../ramp/ramp-events.js';
import type { FoldStatus } from '../events/fold-runner.js';
import type { ConfigRepos } from '../../store/sql/config-repos.js';
import { EventReads } from '../../store/event-reads.js';

const UNPLANNABLE_HINT = "validate_config names the input (UNPLANNABLE): fix the draft's analysisPlan or weights with update_experiment.";

export type { Analysis };

export interface MetricsReport extends Analysis {
  experimentId: string;
  key: string;
  status: Experiment['status'];
  version: number;
  computedAt: string;
  /** When the experiment's statistics last changed (receipt time of the newest folded event): data freshness. */
  dataUpdatedAt: string | null;
  /** What was acknowledged but is not in these numbers yet (another process's appends while this one folded). */
  fold: FoldStatus;
}

/** get_metrics: reads the per-arm sufficient statistics (constant cost in the event count) and runs the pure analysis. */
export class MetricsService {
  constructor(
    private readonly d: AppDeps,
    private readonly experiments: ExperimentService,
    /** Writes queued exposures and folds the event log, so a report sees every unit served and every event acknowledged so far. */
    private readonly current: () => FoldStatus = () => ({ pending: 0, lagSeconds: 0 }),
    /** The same without blocking the event loop (the served exposures' writer and the fold thread do the work meanwhile). */
    private readonly settle: () => Promise<unknown> = async () => undefined,
  ) {}

  /** Writes what was served and folds what was acknowledged, waiting without blocking the event loop. */
  async settleData(): Promise<void> {
    await this.settle();
  }

  /** report() for callers that can wait (get_metrics over MCP and REST): the event loop serves while the data settles. */
  async reportCurrent(experimentId: string, opts: { alwaysValid?: boolean } = {}): Promise<MetricsReport> {
    await this.settle();
    return await this.report(experimentId, opts);
  }

  /** history() likewise. */
  async historyCurrent(experimentId: string): Promise<MetricsHistory> {
    await this.settle();
    return await this.history(experimentId);
  }

  /**
   * `alwaysValid` reads the data under the always-valid analysis whatever the plan says: safe for a server that looks
   * every minute. The experiment and its metric definitions come from the async store (`r`: a caller's transaction);
   * the statistics from the event side's aggregates, read through the same store (EventReads over `r.sql`: inside a
   * caller's transaction, that transaction), after `current()` has folded what was acknowledged.
   */
  async report(experimentId: string, opts: { alwaysValid?: boolean } = {}, r: ConfigRepos = this.d.store): Promise<MetricsReport> {
    const fold = this.current();
    const { exp, ids, base } = await this.inputOf(r, experimentId, opts);
    const reads = new EventReads(r.sql);
    const stats = new Map(await Promise.all(ids.map(async (id) => [id, await armStats(reads, exp.id, id, base.metrics.get(id))] as const)));
    // mSPRT's p-value is a running minimum over looks: the daily snapshots are its history.
    const history =
      exp.analysisPlan.sequentialMethod === 'msprt'
        ? new Map(await Promise.all(ids.map(async (id) => [id, dailyLooks(await reads.dailyAggregates(exp.id, id))] as const)))
        : undefined;
    const dataUpdatedAt = await reads.lastUpdatedAt(exp.id);
    const now = this.d.clock.now();
    const analysis = plannable(() => analyzeExperiment({ ...base(), stats, history, now }), UNPLANNABLE_HINT);
    return {
      experimentId: exp.id,
      key: exp.key,
      status: exp.status,
      version: exp.version,
      computedAt: now.toISOString(),
      dataUpdatedAt,
      fold,
      ...analysis,
    };
  }

  /**
   * The effect over time: get_metrics' analysis at each daily snapshot the pipeline keeps (constant
   * cost per day), so each point is the interval get_metrics gave, or would have given, at that look.
   */
  async history(experimentId: string): Promise<MetricsHistory> {
    this.current();
    const { exp, ids, base } = await this.inputOf(this.d.store, experimentId, {});
    const reads = new EventReads(this.d.sql);
    const looks = dailyLooksOf(new Map(await Promise.all(ids.map(async (id) => [id, await reads.dailyAggregates(exp.id, id)] as const))));
    const series = plannable(() => effectHistory(base(), looks), UNPLANNABLE_HINT);
    const method = exp.analysisPlan.looks ? 'group-sequential' : exp.analysisPlan.sequential ? 'always-valid' : 'fixed-horizon';
    return { experimentId: exp.id, method, scale: 'absolute', series, ramp: rampEvents(await this.d.store.audit.forEntity('experiment', exp.id, 1000)) };
  }

  /** What every analysis of the experiment shares: its metrics, the SRM threshold and the plan's sizing (as validate_config showed it). */
  private async inputOf(r: ConfigRepos, experimentId: string, opts: { alwaysValid?: boolean }) {
    const stored = await this.experiments.load(experimentId, r);
    const exp = opts.alwaysValid ? { ...stored, analysisPlan: { ...stored.analysisPlan, sequential: true, looks: undefined } } : stored;
    const ids = [...new Set([...exp.successMetrics, ...exp.guardrails.map((g) => g.metricId)])];
    const found = await Promise.all(ids.map(async (id) => [id, await r.catalog.metric(id)] as const));
    const metrics = new Map(found.flatMap(([id, m]) => (m ? [[id, m] as const] : [])));
    const surface = await r.catalog.surface(exp.surfaceId);
    const base = () => ({
      experiment: exp,
      metrics,
      srmThreshold: this.d.policy.srmThreshold,
      sizing: surface ? sizeExperiment(exp, { surface, metrics, policy: resolveSurfacePolicy(this.d.policy, exp.surfaceId) }) : undefined,
    });
    return { exp, ids, base: Object.assign(base, { metrics }) };
  }
}

/** Per variant: the sufficient statistics, and for a quantile metric its histogram of unit values. */
async function armStats(reads: EventReads, experimentId: string, metricId: string, m: Metric | undefined): Promise<Map<string, ArmStats>> {
  const [rows, sketches] = await Promise.all([
    reads.aggregates(experimentId, metricId),
    m?.kind === 'quantile' ? reads.sketches(experimentId, metricId) : Promise.resolve(undefined),
  ]);
  return new Map(rows.map(({ variant, ...a }) => [variant, sketches ? { ...a, sketch: sketches.get(variant) ?? [] } : a]));
}

/** Daily snapshot rows (ordered by day) as one per-variant map per day, oldest first. */
function dailyLooks(rows: (ArmStats & { day: string; variant: string })[]): Map<string, ArmStats>[] {
  const days = new Map<string, Map<string, ArmStats>>();
  for (const { day, variant, ...a } of rows) {
    let d = days.get(day);
    if (!d) days.set(day, (d = new Map()));
    d.set(variant, a);
  }
  return [...days.values()];
}
