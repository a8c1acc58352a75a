import { prepared, type Db } from './db.js';
import { binOf, type SketchBins } from '../domain/quantile-sketch.js';
import type { BinDelta } from './fold/fold-io.js';

/** The statement each engine reads an arm's histogram with. */
export const SKETCH_READ_SQL = 'SELECT variant, bin, count FROM quantile_bins WHERE experiment_id = ? AND metric_id = ? AND count > 0 ORDER BY variant, bin';

/** Rows of SKETCH_READ_SQL as each arm's histogram. */
export function sketchesOf(rows: readonly { variant: string; bin: number; count: number }[]): Map<string, SketchBins> {
  const out = new Map<string, [number, number][]>();
  for (const r of rows) {
    let bins = out.get(r.variant);
    if (!bins) out.set(r.variant, (bins = []));
    bins.push([r.bin, r.count]);
  }
  return out;
}

/**
 * The per-(experiment, variant, metric) histograms of quantile metrics (table quantile_bins), kept at
 * ingest by the metric pipeline in the caller's transaction: when a unit's value changes it leaves its
 * old bin and joins its new one, so each arm's histogram always counts every unit with a value once.
 * Reading one costs the number of non-empty bins, whatever the number of events. The deltas are kept here and
 * written by the pipeline's flush (through its FoldIo); `db` (SQLite) serves the reads and rebuilds.
 */
export class QuantileSketchStore {
  /** Bin count deltas of the current transaction, handed over at drain(). */
  private readonly pending = new Map<string, BinDelta>();

  constructor(private readonly db?: Db) {}

  /** Moves a unit between bins for a change of its value (null: none yet, e.g. a new unit with no event). */
  move(experimentId: string, variant: string, metricId: string, v0: number | null, v1: number | null): void {
    const b0 = v0 === null ? null : binOf(v0);
    const b1 = v1 === null ? null : binOf(v1);
    if (b0 === b1) return;
    if (b0 !== null) this.add(experimentId, variant, metricId, b0, -1);
    if (b1 !== null) this.add(experimentId, variant, metricId, b1, 1);
  }

  /** The bin deltas of the current transaction, handed to the pipeline's flush; forgotten here. */
  drain(): BinDelta[] {
    const out = [...this.pending.values()].filter((p) => p.d !== 0);
    this.pending.clear();
    return out;
  }

  /** Drops what the current transaction has not flushed (the transaction failed). */
  discard(): void {
    this.pending.clear();
  }

  /** Deletes an experiment's histograms (before a rebuild). */
  clearExperiment(experimentId: string): void {
    prepared(this.sqlite(), 'DELETE FROM quantile_bins WHERE experiment_id = ?').run(experimentId);
  }

  /** Each arm's histogram of one quantile metric. */
  read(experimentId: string, metricId: string): Map<string, SketchBins> {
    return sketchesOf(prepared(this.sqlite(), SKETCH_READ_SQL).all(experimentId, metricId) as { variant: string; bin: number; count: number }[]);
  }

  private sqlite(): Db {
    if (!this.db) throw new Error('QuantileSketchStore: reads go through the engine (EventReads on PostgreSQL)');
    return this.db;
  }

  private add(experimentId: string, variant: string, metricId: string, bin: number, d: number): void {
    const key = `${experimentId}\u0000${variant}\u0000${metricId}\u0000${bin}`;
    const p = this.pending.get(key);
    if (p) p.d += d;
    else this.pending.set(key, { experimentId, variant, metricId, bin, d });
  }
}
