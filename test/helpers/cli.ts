import { type ChildProcess, spawn } from 'node:child_process';
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

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** Everything it logged so far (pino JSON lines on stderr). */
  stderr(): string;
  exited: Promise<void>;
}

/**
 * `sealab serve` spawned on a data directory (port 0, ramp scheduler off, the given policy file),
 * resolved once it logs that it listens, with its URL; rejected if it exits or is silent for 15 s.
 */
export function startServe(dataDir: string, policyFile: string): Promise<ServeProcess> {
  return spawnServe(['--port', '0', '--data-dir', dataDir, '--policy', policyFile]);
}

/**
 * `sealab serve ARGS…` with `env` added to PATH, HOME, SEALAB_LOG_LEVEL=info and SEALAB_RAMP_INTERVAL_SECONDS=0 (nothing
 * else of the runner's environment), resolved with its URL once it logs that it listens; rejected if it exits first
 * or is silent for `startMs`.
 */
export function spawnServe(args: readonly string[], env: Record<string, string> = {}, startMs = 15_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SEALAB_LOG_LEVEL: 'info', SEALAB_RAMP_INTERVAL_SECONDS: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    // Silent too long: killed, so a failed start leaves no process behind.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sealab did not start: ${err}`));
    }, startMs);
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      const m = /"msg":"sealab HTTP listening[^"]*"/.test(err) ? /"url":"(http:\/\/[^"]+)"/.exec(err) : null;
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], stderr: () => err, exited });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sealab exited (${code}): ${err}`));
    });
  });
}
