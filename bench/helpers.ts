import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createContainer, type Container } from '../src/container.js';
import { demoConfig } from '../test/helpers/app.js';

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

/** A file-backed container (WAL, as in production) with one running experiment on home. */
export function benchContainer(label: string): { app: Container; dir: string; experimentId: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sealab-bench-${label}-`));
  const app = createContainer({ dbFile: path.join(dir, 'sealab.db') });
  const ctx = { actor: 'bench', interface: 'cli' as const, operation: 'bench', requestId: 'bench' };
  const config = demoConfig({ key: `bench-${label}`, allocationPercent: 50, successMetrics: ['stream-rate', 'minutes-played'], guardrails: [{ metricId: 'crash-rate', margin: 0.02 }] });
  const { experiment } = app.experiments.create({ config }, ctx);
  app.experiments.validate({ experimentId: experiment.id }, ctx);
  app.experiments.deploy({ experimentId: experiment.id, version: 1 }, ctx);
  return { app, dir, experimentId: experiment.id };
}

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
