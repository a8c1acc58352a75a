import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteContainer } from '../../src/container.js';
import { listenHttp } from '../../src/server/http-listen.js';
import { demoConfig, permissivePolicy, startRunning, testContainer } from '../helpers/app.js';
import { requirePrometheus, SKIP_PROMETHEUS } from './promtool.js';
import { loadSloFile } from '../../src/ops/slo/slo-file.js';
import { sloRules } from '../../src/ops/slo/slo-rules.js';

/**
 * Item 6 of issue 13: a real Prometheus (Debian's, provisioned by scripts/provision.sh) scrapes a
 * sealab HTTP server on loopback every second; the test asks Prometheus' HTTP API for sealab's
 * series. Its own ports and temp dirs: a system prometheus the package may have started on :9090
 * is neither used nor needed.
 */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** Polls until `probe` returns a value (no fixed sleeps), or fails with the last answer after `timeoutMs`. */
async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

describe.skipIf(SKIP_PROMETHEUS)('a real Prometheus scraping sealab', () => {
  let app: SqliteContainer;
  let sealab: { port: number; close(): Promise<void> };
  let prometheus: ChildProcess | undefined;
  let promPort = 0;
  let dir = '';
  let log = '';

  beforeAll(async () => {
    const binary = requirePrometheus();
    app = await testContainer({ policy: permissivePolicy() });
    await startRunning(app, demoConfig({ allocationPercent: 50 }));
    sealab = await listenHttp(app, { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576 });
    // Serving traffic before the first scrape, so the serving histogram has series.
    for (const unit of ['u1', 'u2', 'u3']) await fetch(`http://127.0.0.1:${sealab.port}/v1/surfaces/home/assignment?unit=${unit}`);
    dir = mkdtempSync(path.join(tmpdir(), 'sealab-prometheus-'));
    const config = path.join(dir, 'prometheus.yml');
    // The shipped SLOs' recording and alerting rules, as `sealab slo rules` prints them.
    writeFileSync(path.join(dir, 'sealab-slo.rules.yml'), sloRules(loadSloFile()));
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${JSON.stringify(path.join(dir, 'sealab-slo.rules.yml'))}`,
        'scrape_configs:',
        '  - job_name: sealab',
        '    metrics_path: /metrics',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${sealab.port}']`,
        '',
      ].join('\n'),
    );
    promPort = await freePort();
    prometheus = spawn(
      binary,
      [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prometheus.stderr!.on('data', (d: Buffer) => {
      log = `${log}${d.toString()}`.slice(-4000);
    });
  }, 60_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus!.once('exit', r));
      prometheus.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (prometheus.exitCode === null) prometheus.kill('SIGKILL');
    }
    await sealab?.close();
    app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const query = async (promql: string) => {
    const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    return body.status === 'success' ? body.data.result : undefined;
  };

  it('scrapes /metrics: the target is up and the serving latency histogram is queryable by route', async () => {
    const up = await until(async () => (await query('up{job="sealab"} == 1'))?.[0], 60_000, `the sealab target to be up (prometheus log: ${log})`);
    expect(up.metric.instance).toBe(`127.0.0.1:${sealab.port}`);
    const buckets = await until(
      async () => {
        const r = await query('sealab_serving_duration_seconds_bucket{route="assignment",le="+Inf"}');
        return r?.length ? r : undefined;
      },
      60_000,
      'sealab_serving_duration_seconds_bucket',
    );
    expect(Number(buckets[0].value[1])).toBe(3);
    // The REST counter under its route pattern, as an SLO's ratio query reads it.
    const requests = await query('sum(sealab_http_requests_total{route="/v1/surfaces/:id/assignment",code="200"})');
    expect(Number(requests?.[0]?.value[1])).toBe(3);
  }, 120_000);

  it('evaluates the recording rules written by `sealab slo rules`: assignment availability has no errors', async () => {
    const ratio = await until(
      async () => {
        // Traffic between scrapes, so the 5m rate has something to divide by.
        await fetch(`http://127.0.0.1:${sealab.port}/v1/surfaces/home/assignment?unit=u${Date.now()}`);
        const r = await query('sealab:sli_error_ratio:rate5m{slo="assignment-availability"}');
        return r?.length && r[0]!.value[1] !== 'NaN' ? r : undefined;
      },
      60_000,
      `the recording rule sealab:sli_error_ratio:rate5m (prometheus log: ${log})`,
    );
    expect(ratio).toHaveLength(1);
    expect(ratio[0]!.metric).toEqual({ __name__: 'sealab:sli_error_ratio:rate5m', slo: 'assignment-availability' });
    expect(Number(ratio[0]!.value[1])).toBe(0);
  }, 120_000);
});
