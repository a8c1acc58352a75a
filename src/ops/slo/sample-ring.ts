/** One sample: when, and each SLO's cumulative [bad, total] (null while its metric is missing). */
export interface SloSample {
  t: number;
  counts: ([number, number] | null)[];
}

/**
 * Keeps cumulative samples for 30 days in bounded memory: every sample for the last 2 hours, one a
 * minute up to a day, one per 15 minutes beyond, and nothing older than the 30-day window needs.
 * A window's error ratio is the difference between now and the sample at (or just before) its start,
 * so a coarse old point costs at most its step in where a long window starts.
 */
export class SampleRing {
  private points: SloSample[] = [];

  constructor(
    private readonly keepMs = 30 * 86_400_000 + 3_600_000,
    private readonly tiers: { olderThanMs: number; stepMs: number }[] = [
      { olderThanMs: 2 * 3_600_000, stepMs: 60_000 },
      { olderThanMs: 86_400_000, stepMs: 15 * 60_000 },
    ],
  ) {}

  push(s: SloSample): void {
    const last = this.points.at(-1);
    if (last && s.t < last.t) return; // a clock moved back: keep the history monotonic
    if (last && s.t === last.t) this.points[this.points.length - 1] = s;
    else this.points.push(s);
    this.compact(s.t);
  }

  get size(): number {
    return this.points.length;
  }

  latest(): SloSample | undefined {
    return this.points.at(-1);
  }

  /** The last sample at or before t; the oldest one when history is shorter than that. */
  at(t: number): SloSample | undefined {
    let lo = 0;
    let hi = this.points.length - 1;
    if (hi < 0) return undefined;
    if (this.points[0]!.t > t) return this.points[0];
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.points[mid]!.t <= t) lo = mid;
      else hi = mid - 1;
    }
    return this.points[lo];
  }

  private compact(now: number): void {
    const kept: SloSample[] = [];
    for (const p of this.points) {
      const age = now - p.t;
      if (age > this.keepMs && this.points.length > 1) continue;
      const step = this.tiers.filter((x) => age > x.olderThanMs).at(-1)?.stepMs;
      const prev = kept.at(-1);
      if (step && prev && Math.floor(prev.t / step) === Math.floor(p.t / step)) continue;
      kept.push(p);
    }
    this.points = kept;
  }
}
