import type { ArmStats } from './compare-arms.js';
import { analyzeExperiment } from './analyze-experiment.js';
import type { AnalysisInput } from './analysis-types.js';

/** One look: a day's end-of-day snapshot of the per-arm statistics, per metric id then variant key. */
export interface DailyLook {
  day: string;
  stats: Map<string, Map<string, ArmStats>>;
}

export interface EffectPoint {
  day: string;
  estimate: number;
  lower: number;
  upper: number;
}

/** The absolute effect of one treatment on one metric, look by look. */
export interface EffectSeries {
  metricId: string;
  variant: string;
  points: EffectPoint[];
}

/**
 * The cumulative effect over time with its interval at each daily look, computed by running the very
 * analysis get_metrics runs (analyzeExperiment) on each day's snapshot: the same method, tuning and
 * sample at that look, so under an always-valid plan the band is the confidence sequence and the last
 * point equals get_metrics' interval when the last snapshot is today's. Quantile metrics have no daily
 * sketch, so no series (their arms are not in the snapshots as histograms).
 */
export function effectHistory(input: Omit<AnalysisInput, 'stats' | 'history' | 'now'>, looks: readonly DailyLook[]): EffectSeries[] {
  const series = new Map<string, EffectSeries>();
  const key = (m: string, v: string) => `${m}\u0000${v}`;
  looks.forEach((look, i) => {
    // mSPRT's running minimum reads the looks so far, as get_metrics does with every snapshot.
    const history = new Map([...look.stats.keys()].map((id) => [id, looks.slice(0, i + 1).map((l) => l.stats.get(id) ?? new Map())]));
    const a = analyzeExperiment({ ...input, stats: look.stats, history, now: new Date(`${look.day}T23:59:59.999Z`) });
    for (const m of a.metrics) {
      if (m.kind === 'quantile') continue;
      for (const v of m.variants) {
        if (v.isControl) continue;
        let s = series.get(key(m.metricId, v.variant));
        if (!s) series.set(key(m.metricId, v.variant), (s = { metricId: m.metricId, variant: v.variant, points: [] }));
        if (v.absolute) s.points.push({ day: look.day, ...v.absolute });
      }
    }
  });
  return [...series.values()];
}

/** Daily snapshot rows of several metrics (each ordered by day) as looks, oldest first. */
export function dailyLooksOf(rows: ReadonlyMap<string, readonly (ArmStats & { day: string; variant: string })[]>): DailyLook[] {
  const days = new Map<string, Map<string, Map<string, ArmStats>>>();
  for (const [metricId, list] of rows) {
    for (const { day, variant, ...a } of list) {
      let d = days.get(day);
      if (!d) days.set(day, (d = new Map()));
      let m = d.get(metricId);
      if (!m) d.set(metricId, (m = new Map()));
      m.set(variant, a);
    }
  }
  return [...days.keys()].sort().map((day) => ({ day, stats: days.get(day)! }));
}
