import type { Db } from './db.js';
import { binOf, type SketchBins } from '../domain/quantile-sketch.js';

/**
 * The per-(experiment, variant, metric) histograms of quantile metrics (table quantile_bins), kept at
 * ingest by the metric pipeline in the caller's transaction: when a unit's value changes it leaves its
 * old bin and joins its new one, so each arm's histogram always counts every unit with a value once.
 * Reading one costs the number of non-empty bins, whatever the number of events.
 */
export class QuantileSketchStore {
  /** Bin count deltas of the current transaction, written at flush(). */
  private readonly pending = new Map<string, { experimentId: string; variant: string; metricId: string; bin: number; d: number }>();
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      bump: db.prepare(
        `INSERT INTO quantile_bins (experiment_id, metric_id, variant, bin, count) VALUES (?,?,?,?,?)
         ON CONFLICT(experiment_id, metric_id, variant, bin) DO UPDATE SET count = count + excluded.count`,
      ),
      read: db.prepare('SELECT variant, bin, count FROM quantile_bins WHERE experiment_id = ? AND metric_id = ? AND count > 0 ORDER BY variant, bin'),
      clear: db.prepare('DELETE FROM quantile_bins WHERE experiment_id = ?'),
    };
  }

  /** Moves a unit between bins for a change of its value (null: none yet, e.g. a new unit with no event). */
  move(experimentId: string, variant: string, metricId: string, v0: number | null, v1: number | null): void {
    const b0 = v0 === null ? null : binOf(v0);
    const b1 = v1 === null ? null : binOf(v1);
    if (b0 === b1) return;
    if (b0 !== null) this.add(experimentId, variant, metricId, b0, -1);
    if (b1 !== null) this.add(experimentId, variant, metricId, b1, 1);
  }

  flush(): void {
    for (const p of this.pending.values()) if (p.d !== 0) this.stmts.bump.run(p.experimentId, p.metricId, p.variant, p.bin, p.d);
    this.pending.clear();
  }

  /** Drops what the current transaction has not flushed (the transaction failed). */
  discard(): void {
    this.pending.clear();
  }

  /** Deletes an experiment's histograms (before a rebuild). */
  clearExperiment(experimentId: string): void {
    this.stmts.clear.run(experimentId);
  }

  /** Each arm's histogram of one quantile metric. */
  read(experimentId: string, metricId: string): Map<string, SketchBins> {
    const out = new Map<string, [number, number][]>();
    for (const r of this.stmts.read.all(experimentId, metricId) as { variant: string; bin: number; count: number }[]) {
      let bins = out.get(r.variant);
      if (!bins) out.set(r.variant, (bins = []));
      bins.push([r.bin, r.count]);
    }
    return out;
  }

  private add(experimentId: string, variant: string, metricId: string, bin: number, d: number): void {
    const key = `${experimentId}\u0000${variant}\u0000${metricId}\u0000${bin}`;
    const p = this.pending.get(key);
    if (p) p.d += d;
    else this.pending.set(key, { experimentId, variant, metricId, bin, d });
  }
}
