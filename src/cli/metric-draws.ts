import { normalQuantile } from '../domain/stats/distributions.js';

/** One metric of the catalog, as GET /v1/metrics returns it (the fields a draw needs). */
export interface CatalogMetric {
  id: string;
  kind: 'binary' | 'mean' | 'count' | 'ratio' | 'quantile';
  /** Quantile metrics: the level whose baseline is baselineMean, e.g. 0.9. */
  quantile?: number;
  direction: 'increase' | 'decrease';
  baselineMean: number;
  baselineVariance: number;
  numeratorId?: string;
  denominatorId?: string;
}

/** A standard normal draw (Box–Muller). */
export function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Gamma(shape, scale) by Marsaglia–Tsang (boosted below shape 1). */
export function gamma(rand: () => number, shape: number, scale: number): number {
  if (shape < 1) return gamma(rand, shape + 1, scale) * (1 - rand()) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const z = normal(rand);
    const v = (1 + c * z) ** 3;
    if (v <= 0) continue;
    const u = 1 - rand();
    if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v * scale;
  }
}

/** Poisson(λ): Knuth's product of uniforms for small λ, a rounded normal beyond (error far below what the analysis sees). */
export function poisson(rand: () => number, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(rand)));
  const limit = Math.exp(-lambda);
  let k = 0;
  for (let p = rand(); p > limit; p *= rand()) k++;
  return k;
}

/**
 * One unit's total for a metric over its exposure, with the catalog's mean times `lift` and the
 * catalog's spread: binary Bernoulli(p); count negative binomial (Poisson–gamma) with the catalog's
 * mean and variance (Poisson when the variance is not above the mean); mean Normal(mean, sd), except
 * a positive quantity whose sd is over a third of its mean (minutes played), which is
 * Gamma with the same mean and variance: a clipped normal would inflate its mean. Returns null for
 * "no event" (a zero count or a binary miss) and for ratio metrics, which are drawn through their
 * numerator and denominator metrics.
 */
export function drawMetric(m: CatalogMetric, lift: number, rand: () => number): number | null {
  const mean = m.baselineMean * lift;
  const variance = m.baselineVariance;
  switch (m.kind) {
    case 'binary':
      return rand() < Math.min(1, Math.max(0, mean)) ? 1 : null;
    case 'count': {
      if (mean <= 0) return null;
      // Keep the catalog's dispersion k (variance = μ + μ²/k) as the mean moves.
      const k = variance > m.baselineMean ? m.baselineMean ** 2 / (variance - m.baselineMean) : Number.POSITIVE_INFINITY;
      const x = Number.isFinite(k) ? poisson(rand, gamma(rand, k, mean / k)) : poisson(rand, mean);
      return x > 0 ? x : null;
    }
    case 'mean': {
      const sd = Math.sqrt(variance);
      if (m.baselineMean > 0 && sd > 0 && mean > 0 && mean < 3 * sd) return gamma(rand, (mean * mean) / variance, variance / mean);
      const x = mean + sd * normal(rand);
      return m.baselineMean >= 0 ? Math.max(0, x) : x;
    }
    case 'ratio':
      return null;
    case 'quantile': {
      // A unit's value (e.g. its load time) from a lognormal whose q-quantile is the catalog's baseline
      // times the lift, at a spread of σ = 0.25 on the log scale (latency-ms's 320 ± 80 ms gives 0.246).
      const z = normalQuantile(m.quantile ?? 0.5);
      return Math.exp(Math.log(mean) - z * QUANTILE_LOG_SD + QUANTILE_LOG_SD * normal(rand));
    }
  }
}

const QUANTILE_LOG_SD = 0.25;
