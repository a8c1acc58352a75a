import { randomUUID } from 'node:crypto';
import os from 'node:os';

/** Small helpers every benchmark uses: medians, CLI numbers, formatting. */
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The machine's load, printed with every run so a reader can judge how quiet it was. */
export const loadLine = () => {
  const [one, five, fifteen] = os.loadavg();
  return `load ${one.toFixed(2)} ${five.toFixed(2)} ${fifteen.toFixed(2)} on ${os.cpus().length} cores`;
};

/**
 * `n` distinct unit ids in random order (the default: random order writes many more pages per commit than
 * consecutive ids, as production traffic does); `--consecutive` on the command line gives u0, u1, … instead.
 */
export const unitIds = (n: number, consecutive = process.argv.includes('--consecutive')): string[] =>
  // Round-tripped through JSON so each id is one flat string, as ids parsed from a request body are (a template
  // literal makes a cons string, which every comparison and hash would flatten again: not what a server sees).
  JSON.parse(JSON.stringify(Array.from({ length: n }, (_, i) => (consecutive ? `u${i}` : `u${randomUUID()}`))));
