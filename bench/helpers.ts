import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FoldOptions } from '../src/app/events/fold-runner.js';
import { createContainer, type SqliteContainer } from '../src/container.js';
import { createLogger, type Logger } from '../src/logger.js';
import { demoConfig, permissivePolicy, startRunning } from '../test/helpers/app.js';

export { arg, fmt, loadLine, median, unitIds } from './util.js';

const tempDirs = new Set<string>();

function removeAll(): void {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

// A detached watchdog removes the listed directories once this process is gone, however it ends: `npx tsx`
// answers Ctrl-C by killing a child that is busy in a long synchronous SQLite statement, so a signal
// handler here would never run. Directories are listed one per line in `reaperList`.
const WATCHDOG = `
const fs = require('node:fs');
const [pid, list] = process.argv.slice(1);
const alive = () => { try { process.kill(Number(pid), 0); return true; } catch { return false; } };
const timer = setInterval(() => {
  if (alive()) return;
  clearInterval(timer);
  let dirs = [];
  try { dirs = fs.readFileSync(list, 'utf8').split('\\n').filter(Boolean); } catch {}
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  fs.rmSync(list, { force: true });
}, 500);`;
let reaperList: string | undefined;

/** Removes every bench directory when the process ends: on exit and on a thrown error here, and by the watchdog otherwise. */
function hookExit(): string {
  if (reaperList) return reaperList;
  const list = path.join(os.tmpdir(), `sealab-bench-reaper-${process.pid}.list`);
  reaperList = list;
  fs.writeFileSync(list, '');
  spawn(process.execPath, ['-e', WATCHDOG, String(process.pid), list], { detached: true, stdio: 'ignore' }).unref();
  process.on('exit', () => {
    removeAll();
    fs.rmSync(list, { force: true });
  });
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)
    process.once(signal, () => process.exit(code));
  return list;
}

/** A fresh temp directory (sealab-bench-<label>-*) that is removed on exit, on error and on a signal. */
export function benchTempDir(label: string): string {
  const list = hookExit();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sealab-bench-${label}-`));
  tempDirs.add(dir);
  fs.appendFileSync(list, `${dir}\n`);
  return dir;
}

/** Removes a bench directory now (a bench that builds several containers frees each as it goes). */
export function removeBenchDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** The logger a shipped server runs with: pino at the default level (info) on stderr. */
export const shippedLogger = (): Logger => createLogger('info');

/**
 * A file-backed container (WAL, as in production) with one running experiment on home, in a temp
 * directory removed on exit (or by dispose()). Silent unless given a logger: a bench that runs the HTTP
 * app passes shippedLogger(), as `sealab serve` would log.
 */
export async function benchContainer(
  label: string,
  opts: { logger?: Logger; metrics?: boolean; fold?: FoldOptions } = {},
): Promise<{ app: SqliteContainer; dir: string; experimentId: string; dispose: () => void }> {
  const dir = benchTempDir(label);
  // The shipped policy caps a first stage at 10%; benchmarks run one experiment at 50% without a ramp.
  const app = await createContainer({ dbFile: path.join(dir, 'sealab.db'), policy: permissivePolicy(), ...opts });
  const ctx = { actor: 'bench', interface: 'cli' as const, operation: 'bench', requestId: 'bench' };
  const config = demoConfig({
    key: `bench-${label}`,
    allocationPercent: 50,
    successMetrics: ['stream-rate', 'minutes-played'],
    guardrails: [{ metricId: 'crash-rate', margin: 0.02 }],
  });
  const experiment = await startRunning(app, config, ctx);
  const dispose = () => {
    app.close();
    removeBenchDir(dir);
  };
  return { app, dir, experimentId: experiment.id, dispose };
}
