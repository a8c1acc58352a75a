import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createContainer, type Container } from '../src/container.js';
import type { Logger } from '../src/logger.js';
import { demoConfig, permissivePolicy, startRunning } from '../test/helpers/app.js';

export { arg, fmt, median } from './util.js';

/** A file-backed container (WAL, as in production) with one running experiment on home. */
export function benchContainer(label: string, opts: { logger?: Logger; metrics?: boolean } = {}): { app: Container; dir: string; experimentId: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sealab-bench-${label}-`));
  // The shipped policy caps a first stage at 10%; benchmarks run one experiment at 50% without a ramp.
  const app = createContainer({ dbFile: path.join(dir, 'sealab.db'), policy: permissivePolicy(), ...opts });
  const ctx = { actor: 'bench', interface: 'cli' as const, operation: 'bench', requestId: 'bench' };
  const config = demoConfig({
    key: `bench-${label}`,
    allocationPercent: 50,
    successMetrics: ['stream-rate', 'minutes-played'],
    guardrails: [{ metricId: 'crash-rate', margin: 0.02 }],
  });
  const experiment = startRunning(app, config, ctx);
  return { app, dir, experimentId: experiment.id };
}
