import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createContainer, dbFileIn } from '../../src/container.js';
import type { WriteContext } from '../../src/store/audit-repo.js';
import { demoConfig, permissivePolicy } from '../helpers/app.js';
import { runSealab, type CliRun } from '../helpers/cli.js';

const AGENT: WriteContext = { actor: 'agent:cli-test', interface: 'mcp-stdio', operation: 'deploy_to_surface', requestId: 'r1' };

let dir: string;
let policyFile: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sealab-approvals-cli-'));
  policyFile = path.join(dir, 'policy.json');
  writeFileSync(policyFile, JSON.stringify(permissivePolicy({ confirmation: { deploy: 'approval', rampAbovePercent: 100, stop: true, ship: true } })));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** `sealab approvals …` as a spawned process on the data directory. */
function sealab(...args: string[]): Promise<CliRun> {
  return runSealab(['approvals', ...args, '--data-dir', dir, '--policy', policyFile]);
}

describe('sealab approvals (spawned CLI on the data directory)', () => {
  it('lists the pending request, approves it as local:<os user>, and refuses a second decision', async () => {
    const app = await createContainer({ dbFile: dbFileIn(dir), policyFile });
    const { experiment } = await app.experiments.create({ config: demoConfig() }, AGENT);
    const v = await app.experiments.validate({ experimentId: experiment.id }, AGENT);
    const held = await app.approvals.request({ step: 'deploy', args: { experimentId: experiment.id, version: 1, planHash: v.planHash! } }, AGENT);
    app.close();

    const list = await sealab('list');
    const approve = await sealab('approve', held.id, '--reason', 'reviewed on the CLI');
    const again = await sealab('approve', held.id);

    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${held.id}\\tpending\\tagent:cli-test\\t`));
    expect(approve).toMatchObject({ code: 0, stdout: `${held.id}\tapplied\n` });
    expect(approve.stderr).toMatch(/'home-focus-shelf' is running at 10%/);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^sealab: CONFLICT: approval request apr_\w+ is already applied \(decided by local:[^)]+\)\nNext: /);
    const after = await createContainer({ dbFile: dbFileIn(dir), policyFile });
    try {
      expect((await after.experiments.get(experiment.id)).status).toBe('running');
      expect((await after.deps.store.audit.forEntity('experiment', experiment.id))[0]).toMatchObject({
        actor: 'agent:cli-test',
        interface: 'cli',
        confirmation: { via: 'approval', approvalId: held.id, approvedBy: expect.stringMatching(/^local:/), reason: 'reviewed on the CLI' },
      });
    } finally {
      after.close();
    }
  }, 60_000);
});
