import { z } from 'zod';

/** The rolling windows sealab keeps history for: the SRE Workbook's alert windows plus the 30-day budget. */
export const SLO_WINDOWS = ['5m', '30m', '1h', '6h', '3d', '30d'] as const;
export type SloWindow = (typeof SLO_WINDOWS)[number];
export const WINDOW_SECONDS: Record<SloWindow, number> = { '5m': 300, '30m': 1800, '1h': 3600, '6h': 21_600, '3d': 259_200, '30d': 2_592_000 };

const MetricName = z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a Prometheus metric name, e.g. sealab_serving_requests_total');
/** Label matchers: each label must have one of the listed values, e.g. {"route": ["assignment", "ofrep"]}. */
const Match = z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a label name'), z.array(z.string()).min(1)).default({});
const Series = z.strictObject({ metric: MetricName, match: Match });

export const SliSchema = z.discriminatedUnion('kind', [
  z
    .strictObject({
      kind: z.literal('ratio'),
      /** Counter(s) of every event. */
      total: Series,
      /** Counter(s) of the bad events among them (a subset of total). */
      bad: Series,
    })
    .describe('bad / total from counters, e.g. server errors among serving requests'),
  z
    .strictObject({
      kind: z.literal('latency'),
      histogram: MetricName,
      match: Match,
      /** Good = observations at or under this many seconds; must be one of the histogram's bucket bounds. */
      thresholdSeconds: z.number().positive(),
    })
    .describe('share of a histogram observations over a threshold'),
  z
    .strictObject({
      kind: z.literal('gauge'),
      gauge: MetricName,
      match: Match,
      /** A sample is bad when the gauge's largest series is above this. */
      maxValue: z.number(),
    })
    .describe('share of samples where a gauge is above a bound, e.g. results older than 15 minutes'),
]);
export type Sli = z.infer<typeof SliSchema>;

export const AlertPairSchema = z.strictObject({
  severity: z.enum(['page', 'ticket']),
  long: z.enum(SLO_WINDOWS),
  short: z.enum(SLO_WINDOWS),
  /** Fires when the burn rate over both windows is above this. */
  burnRate: z.number().positive(),
});
export type AlertPair = z.infer<typeof AlertPairSchema>;

/** The Site Reliability Workbook, ch. 5 "Alerting on SLOs", table 5-8: multiwindow, multi-burn-rate alerts for a 30-day budget. */
export const WORKBOOK_ALERTS: AlertPair[] = [
  { severity: 'page', long: '1h', short: '5m', burnRate: 14.4 },
  { severity: 'page', long: '6h', short: '30m', burnRate: 6 },
  { severity: 'ticket', long: '3d', short: '6h', burnRate: 1 },
];

export const SloSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, - or _, e.g. assignment-availability'),
  description: z.string().default(''),
  /** Serving SLOs gate rollouts; others only alert. */
  category: z.enum(['serving', 'ingest', 'results', 'mcp', 'deploy', 'config', 'guardrail']),
  sli: SliSchema,
  objective: z.number().gt(0, 'must be above 0').lt(1, 'must be below 1, e.g. 0.999'),
  window: z.literal('30d').default('30d'),
  alerting: z.array(AlertPairSchema).default(WORKBOOK_ALERTS),
  /** What a firing page alert does to rollouts (item 3 of issue 13). */
  actions: z
    .strictObject({ holdRamps: z.boolean().default(false), approvalAboveFirstStage: z.boolean().default(false) })
    .default({ holdRamps: false, approvalAboveFirstStage: false }),
});
export type Slo = z.infer<typeof SloSchema>;

export const SloFileSchema = z
  .strictObject({
    version: z.string().min(1),
    /** How often the in-process evaluator samples the metrics (main.ts; tests call sample()). */
    sampleSeconds: z.number().int().positive().default(10),
    slos: z.array(SloSchema).min(1),
  })
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.slos.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['slos', i, 'name'], message: `'${s.name}' is declared twice` });
      seen.add(s.name);
      s.alerting.forEach((a, j) => {
        if (WINDOW_SECONDS[a.short] >= WINDOW_SECONDS[a.long])
          ctx.addIssue({ code: 'custom', path: ['slos', i, 'alerting', j, 'short'], message: `must be shorter than long (${a.long})` });
      });
    });
  });
export type SloFile = z.infer<typeof SloFileSchema>;
