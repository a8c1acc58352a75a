import { spawnSync } from 'node:child_process';

/**
 * Prometheus' binaries, which `npm test` provisions (scripts/provision.sh). A test that needs one
 * fails when it is missing; SEALAB_SKIP_PROMETHEUS=1 is the one explicit opt-out (README).
 */
export const SKIP_PROMETHEUS = process.env.SEALAB_SKIP_PROMETHEUS === '1';

function locate(binary: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' }).stdout.trim();
  if (!found)
    throw new Error(
      `${binary} is not on PATH: run \`bash scripts/provision.sh\` (installs Debian's prometheus package), or set SEALAB_SKIP_PROMETHEUS=1 to skip these tests`,
    );
  return found;
}

export const requirePromtool = () => locate('promtool');
export const requirePrometheus = () => locate('prometheus');
