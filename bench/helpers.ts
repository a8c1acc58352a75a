import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createContainer, type Container } from '../src/container.js';
import { demoConfig } from '../test/helpers/app.js';

export { arg, fmt, median } from './util.js';

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

