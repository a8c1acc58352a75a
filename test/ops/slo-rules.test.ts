import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSloFile } from '../../src/ops/slo/slo-file.js';
import { alertAnnotations, sloRules } from '../../src/ops/slo/slo-rules.js';
import type { SloFile } from '../../src/ops/slo/slo-schema.js';
import { requirePromtool, SKIP_PROMETHEUS } from './promtool.js';

let PROMTOOL = 'promtool';
let dir = '';
beforeAll(() => {
  // Fails when promtool is missing (scripts/provision.sh installs it); SEALAB_SKIP_PROMETHEUS=1 skips these tests instead.
  if (!SKIP_PROMETHEUS) PROMTOOL = requirePromtool();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealab-slo-rules-'));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function promtool(...args: string[]) {
  const r = spawnSync(PROMTOOL, args, { encoding: 'utf8', cwd: dir, timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** `sealab slo rules` as a spawned process: stdout is the rules file. */
function sealabSloRules(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'slo', 'rules', ...args], { env: { ...process.env, SEALAB_LOG_LEVEL: 'silent' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const shipped = loadSloFile();
const only = (name: string): SloFile => ({ ...shipped, slos: shipped.slos.filter((s) => s.name === name) });
const availability = only('assignment-availability');
const slo = availability.slos[0]!;
const labels = (severity: string, long: string, short: string) => ({ severity, slo: slo.name, long_window: long, short_window: short });
const annotations = (i: number) => alertAnnotations(slo, slo.alerting[i]!);

describe.skipIf(SKIP_PROMETHEUS)('sealab slo rules', () => {
  it('prints rules for every shipped SLO that promtool check rules accepts', async () => {
    const r = await sealabSloRules();
    expect(r.code, r.stderr).toBe(0);
    const file = path.join(dir, 'all.rules.yml');
    fs.writeFileSync(file, r.stdout);
    const check = promtool('check', 'rules', file);
    expect(check.out).toContain(`SUCCESS: ${shipped.slos.length * 9} rules found`);
    expect(check.code).toBe(0);
    expect(r.stdout).toContain(`record: 'sealab:sli_error_ratio:rate5m'`);
    expect(r.stdout).toContain(`le="0.025"`);
  });

  it('refuses an invalid SLO file with the path and exit code 1', async () => {
    const bad = path.join(dir, 'bad-slo.json');
    fs.writeFileSync(
      bad,
      JSON.stringify({ version: 'x', slos: [{ name: 'a', category: 'serving', objective: 2, sli: { kind: 'gauge', gauge: 'g', maxValue: 1 } }] }),
    );
    const r = await sealabSloRules('--slo', bad);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`SLO file ${bad} is invalid`);
    expect(r.stderr).toContain('slos.0.objective: must be below 1');
  });

  it('passes promtool test rules: a short sharp burn pages (1h/5m) without a ticket, a slow one tickets without paging', () => {
    fs.writeFileSync(path.join(dir, 'availability.rules.yml'), sloRules(availability));
    const ok = 'sealab_serving_requests_total{route="assignment",outcome="ok"}';
    const err = 'sealab_serving_requests_total{route="assignment",outcome="server_error"}';
    // JSON is YAML: the unit-test file is written as JSON.
    const tests = {
      rule_files: ['availability.rules.yml'],
      evaluation_interval: '5m',
      tests: [
        {
          // A clean day at 1000 requests a minute, then 25% server errors from minute 1441: the 3d window (all of it) stays under burn 1.
          interval: '1m',
          input_series: [
            { series: ok, values: '0+1000x1450' },
            { series: err, values: '0x1440 250+250x10' },
          ],
          promql_expr_test: [
            // 1250 of 6250 requests in the last 5 minutes (in per mille, away from float noise).
            {
              expr: `round(1000 * sealab:sli_error_ratio:rate5m{slo="${slo.name}"})`,
              eval_time: '1445m',
              exp_samples: [{ labels: `{slo="${slo.name}"}`, value: 200 }],
            },
            {
              expr: `sealab:sli_error_ratio:rate1h{slo="${slo.name}"}`,
              eval_time: '1440m',
              exp_samples: [{ labels: `sealab:sli_error_ratio:rate1h{slo="${slo.name}"}`, value: 0 }],
            },
          ],
          alert_rule_test: [
            { eval_time: '1440m', alertname: 'SealabSloErrorBudgetBurn', exp_alerts: [] },
            {
              eval_time: '1445m',
              alertname: 'SealabSloErrorBudgetBurn',
              exp_alerts: [{ exp_labels: labels('page', '1h', '5m'), exp_annotations: annotations(0) }],
            },
          ],
        },
        {
          // No server error ever: prom-client has no such series, and the ratio still reads 0 rather than nothing.
          interval: '1m',
          input_series: [{ series: ok, values: '0+1000x20' }],
          promql_expr_test: [
            {
              expr: `sealab:sli_error_ratio:rate5m{slo="${slo.name}"}`,
              eval_time: '10m',
              exp_samples: [{ labels: `sealab:sli_error_ratio:rate5m{slo="${slo.name}"}`, value: 0 }],
            },
          ],
        },
        {
          // 0.2% errors for three and a half days: burn 2, under both page thresholds, over the ticket's.
          interval: '10m',
          input_series: [
            { series: ok, values: '0+9980x510' },
            { series: err, values: '0+20x510' },
          ],
          alert_rule_test: [
            {
              eval_time: '5000m',
              alertname: 'SealabSloErrorBudgetBurn',
              exp_alerts: [{ exp_labels: labels('ticket', '3d', '6h'), exp_annotations: annotations(2) }],
            },
          ],
        },
      ],
    };
    fs.writeFileSync(path.join(dir, 'availability.test.yml'), JSON.stringify(tests, null, 2));
    const r = promtool('test', 'rules', 'availability.test.yml');
    expect(r.out).toContain('SUCCESS');
    expect(r.code, r.out).toBe(0);
  });

  it('promtool test rules fails when the expected alert is wrong (the harness can fail)', () => {
    const tests = {
      rule_files: ['availability.rules.yml'],
      evaluation_interval: '5m',
      tests: [
        {
          interval: '10m',
          input_series: [
            { series: 'sealab_serving_requests_total{outcome="ok"}', values: '0+9980x60' },
            { series: 'sealab_serving_requests_total{outcome="server_error"}', values: '0+20x60' },
          ],
          alert_rule_test: [{ eval_time: '600m', alertname: 'SealabSloErrorBudgetBurn', exp_alerts: [{ exp_labels: labels('page', '1h', '5m') }] }],
        },
      ],
    };
    fs.writeFileSync(path.join(dir, 'availability.rules.yml'), sloRules(availability));
    fs.writeFileSync(path.join(dir, 'wrong.test.yml'), JSON.stringify(tests));
    expect(promtool('test', 'rules', 'wrong.test.yml').code).not.toBe(0);
  });
});
