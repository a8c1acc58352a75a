import { expect } from 'vitest';

/**
 * Serves a surface's layout to `units` (over the given fetch, as a surface would) and returns, for
 * each unit the experiment decided a served slot for (so was exposed), the arm it was served.
 */
export async function servedArms(
  fetch: typeof globalThis.fetch,
  surfaceId: string,
  experimentId: string,
  units: readonly string[],
): Promise<Map<string, string>> {
  const arm = new Map<string, string>();
  for (const unit of units) {
    const res = await fetch(`http://127.0.0.1/v1/surfaces/${surfaceId}/layout?unit=${encodeURIComponent(unit)}`);
    const body = (await res.json()) as { exposed: string[]; assignments: { experimentId: string; variant: string }[] };
    const mine = body.assignments.find((a) => a.experimentId === experimentId);
    if (mine && body.exposed.includes(experimentId)) arm.set(unit, mine.variant);
  }
  return arm;
}

/**
 * Posts events in batches, each batch twice as a producer's retry would: the first send must accept
 * every event and the second count every one a duplicate, nothing refused. Returns how many of them
 * the first sends reported unmatched (raw events no metric uses).
 */
export async function ingestTwice(fetch: typeof globalThis.fetch, events: readonly Record<string, unknown>[], batchSize: number): Promise<number> {
  let unmatched = 0;
  for (let i = 0; i < events.length; i += batchSize) {
    const batch = events.slice(i, i + batchSize);
    for (const attempt of [0, 1]) {
      const res = await fetch('http://127.0.0.1/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: batch }),
      });
      const r = (await res.json()) as { accepted: number; duplicates: number; unmatched: number; rejected: unknown[] };
      expect(r.rejected).toEqual([]);
      expect(attempt ? r.duplicates : r.accepted).toBe(batch.length);
      if (!attempt) unmatched += r.unmatched;
      else expect(r.unmatched).toBe(0); // a duplicate is not counted again
    }
  }
  return unmatched;
}
