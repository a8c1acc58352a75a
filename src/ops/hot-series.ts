import { Counter, type CounterConfiguration, Histogram, type HistogramConfiguration, type LabelValues } from 'prom-client';

/**
 * Counters and histograms for the request paths. prom-client hashes the label set into a string and
 * turns each bucket bound into a property key on every inc/observe, `labels()` children included
 * (~1.5 µs and some garbage per call: 4–5% of an OFREP evaluation's CPU for its four series). A
 * child here is a label set counted in plain numbers; the counts are added to prom-client's series
 * when the registry is read (the metric's collect(), which runs on every scrape and every
 * `get()`, so the SLO evaluator sees them too). Direct inc/observe calls still work alongside.
 */

/** One label set of a HotCounter. */
export class CounterChild {
  pending = 0;
  constructor(readonly labels: Readonly<Record<string, string>>) {}
  inc(n = 1): void {
    this.pending += n;
  }
}

/** One label set of a HotHistogram: per-bucket counts (not cumulative, as prom-client keeps them), sum and count. */
export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }
  /** As prom-client's observe: the first bucket whose bound is ≥ the value; above the last one, only count and sum (+Inf). */
  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    if (i < b.length) this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

const keyOf = (names: readonly string[], labels: Record<string, string | number>) => names.map((n) => String(labels[n] ?? '')).join('\u0000');
const labelsOf = (names: readonly string[], labels: Record<string, string | number>) =>
  Object.fromEntries(names.filter((n) => labels[n] !== undefined).map((n) => [n, String(labels[n])]));

/** A prom-client Counter whose hot label sets are children (child() once, then inc() per request). */
export class HotCounter<T extends string = string> extends Counter<T> {
  private readonly children = new Map<string, CounterChild>();
  private readonly names: readonly string[];

  constructor(config: CounterConfiguration<T>) {
    super({
      ...config,
      collect() {
        (this as HotCounter<T>).fold();
      },
    });
    this.names = [...(config.labelNames ?? [])]; // in declared order: prom-client writes labels in the order of the object it was given
  }

  /** The child for a label set, made on first use; keep it and call inc() on it. */
  child(labels: LabelValues<T> = {} as LabelValues<T>): CounterChild {
    const key = keyOf(this.names, labels as Record<string, string | number>);
    let c = this.children.get(key);
    if (!c) this.children.set(key, (c = new CounterChild(labelsOf(this.names, labels as Record<string, string | number>))));
    return c;
  }

  private fold(): void {
    for (const c of this.children.values()) {
      if (!c.pending) continue;
      this.inc(c.labels as LabelValues<T>, c.pending);
      c.pending = 0;
    }
  }
}

/**
 * prom-client's per-label-set values, which a histogram has no public call to add counts to. The
 * shape is prom-client 15's (lib/histogram.js); test/ops/hot-series.test.ts fails if it changes.
 */
type Entry = { labels: Record<string, string | number>; bucketValues: Record<string, number>; sum: number; count: number };

/** A prom-client Histogram whose hot label sets are children (child() once, then observe() per request). */
export class HotHistogram<T extends string = string> extends Histogram<T> {
  private readonly children = new Map<string, HistogramChild>();
  private readonly names: readonly string[];
  private readonly bounds: readonly number[];

  constructor(config: HistogramConfiguration<T> & { buckets: number[] }) {
    super({
      ...config,
      collect() {
        (this as HotHistogram<T>).fold();
      },
    });
    this.names = [...(config.labelNames ?? [])]; // in declared order: prom-client writes labels in the order of the object it was given
    this.bounds = [...config.buckets].sort((a, b) => a - b);
  }

  /** The child for a label set, made on first use; keep it and call observe() on it. */
  child(labels: LabelValues<T> = {} as LabelValues<T>): HistogramChild {
    const key = keyOf(this.names, labels as Record<string, string | number>);
    let c = this.children.get(key);
    if (!c) this.children.set(key, (c = new HistogramChild(labelsOf(this.names, labels as Record<string, string | number>), this.bounds)));
    return c;
  }

  private fold(): void {
    for (const c of this.children.values()) {
      if (!c.count) continue;
      const entry = this.entryOf(c.labels);
      for (let i = 0; i < this.bounds.length; i++) entry.bucketValues[this.bounds[i]] += c.counts[i];
      entry.sum += c.sum;
      entry.count += c.count;
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
    }
  }

  /** prom-client's values for a label set, made (zero()) when it has none yet. Scrape time only. */
  private entryOf(labels: Readonly<Record<string, string>>): Entry {
    const find = () => {
      const map = (this as unknown as { hashMap: Record<string, Entry> }).hashMap;
      return Object.values(map).find((e) => this.names.every((n) => (e.labels[n] === undefined ? undefined : String(e.labels[n])) === labels[n]));
    };
    const found = find();
    if (found) return found;
    this.zero(labels as LabelValues<T>);
    const made = find();
    if (!made) throw new Error(`prom-client's histogram internals changed: no values for ${JSON.stringify(labels)} after zero()`);
    return made;
  }
}
