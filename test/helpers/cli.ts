import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: spawned sealab processes run from it. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `sealab ARGS…` as a spawned process (the real entry, src/main.ts through tsx) that runs to its end:
 * exit code and both streams. Only PATH and HOME are inherited, so no SEALAB_* of the test runner
 * leaks in; `env` adds to them (SEALAB_LOG_LEVEL defaults to warn).
 */
export function runSealab(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SEALAB_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}
