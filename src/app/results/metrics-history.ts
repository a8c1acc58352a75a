import { z } from 'zod';
import { RampEventSchema } from '../ramp/ramp-events.js';

/**
 * The cumulative effect over time, per metric × treatment variant: what the results view draws as the
 * effect with its confidence-sequence band. Sent to MCP Apps hosts in get_metrics' result `_meta`
 * (HISTORY_META_KEY, never in structuredContent or the listed schema: it costs no context) and served at
 * GET /v1/experiments/{id}/metrics/history (docs/adr/0016-results-mcp-app.md).
 */
export const MetricsHistorySchema = z.object({
  experimentId: z.string(),
  method: z.enum(['always-valid', 'fixed-horizon', 'group-sequential']).describe('The method in force: each point is its interval at that look'),
  scale: z.literal('absolute').describe('treatment − control, in metric units'),
  series: z.array(
    z.object({
      metricId: z.string(),
      variant: z.string(),
      points: z
        .array(
          z.object({
            day: z.string().describe('UTC day of the end-of-day snapshot, e.g. "2026-03-02"'),
            estimate: z.number(),
            lower: z.number(),
            upper: z.number(),
          }),
        )
        .describe('Oldest first; a day the comparison was not computable (an empty arm) has no point'),
    }),
  ),
  ramp: z.array(RampEventSchema).describe("The ramp's history from the audit trail, oldest first: starts, advances, holds, breaker trips, the conclusion"),
});
export type MetricsHistory = z.infer<typeof MetricsHistorySchema>;

/** Where get_metrics' result carries the history for a host that renders MCP Apps. */
export const HISTORY_META_KEY = 'sealab/history';
