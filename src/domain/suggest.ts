import { distance } from 'fastest-levenshtein';

/**
 * The known ids nearest to one that was not found, for "did you mean": case-insensitive edit distance
 * (within a third of the longer id, at least 2), and ids that contain the input or are contained in it
 * ('streams' → 'streams-per-user', 'homee' → 'home'). Closest first, at most `max`.
 */
export function nearest(input: string, known: Iterable<string>, max = 3): string[] {
  const q = input.trim().toLowerCase();
  if (!q) return [];
  const scored: { id: string; score: number }[] = [];
  for (const id of new Set(known)) {
    const c = id.toLowerCase();
    if (id === input) continue;
    const d = distance(q, c);
    const contains = Math.min(q.length, c.length) >= 3 && (c.includes(q) || q.includes(c));
    if (contains || d <= Math.max(2, Math.floor(Math.max(q.length, c.length) / 3))) scored.push({ id, score: contains ? Math.min(d, 0.5) : d });
  }
  return scored
    .sort((a, b) => a.score - b.score || a.id.length - b.id.length || a.id.localeCompare(b.id))
    .slice(0, max)
    .map((s) => s.id);
}

/** "Did you mean 'home'?" / "Did you mean 'a', 'b' or 'c'?"; '' when there is nothing near. */
export function didYouMean(suggestions: string[]): string {
  if (!suggestions.length) return '';
  const quoted = suggestions.map((s) => `'${s}'`);
  return `Did you mean ${quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`}?`;
}
