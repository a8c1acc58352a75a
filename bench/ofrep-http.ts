/**
 * OFREP over HTTP on loopback: requests/s and p99 latency of sealab's single-flag evaluation
 * (`POST /ofrep/v1/evaluate/flags/{key}`, a different unit per request, exposures queued) next to a
 * bare hono endpoint returning a constant JSON body, measured in the same run with autocannon
 * (50 connections). Each server runs in its own process so the load generator does not share it.
 *
 *   npx tsx bench/ofrep-http.ts [--seconds 10] [--connections 50]
 */
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { arg, fmt } from './util.js';

const SECONDS = arg('seconds', 10);
const CONNECTIONS = arg('connections', 50);

async function start(mode: string, port: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/ofrep-server.ts', mode, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  return child;
}

async function load(port: number, key: string) {
  let i = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [{ method: 'POST', path: `/ofrep/v1/evaluate/flags/${key}`, headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: JSON.stringify({ context: { targetingKey: `user-${i++}` } }) }) }],
  });
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

const bare = await start('bare', 39101);
const b = await load(39101, 'bench');
bare.kill();
const sealab = await start('sealab', 39102);
const s = await load(39102, 'bench-ofrep');
sealab.kill();
console.log(`OFREP single-flag evaluation over loopback HTTP, ${CONNECTIONS} connections, ${SECONDS} s each`);
console.log(`  sealab /ofrep/v1/evaluate/flags/{key} : ${fmt(s.rps)} req/s, p99 ${s.p99} ms, errors ${s.errors}`);
console.log(`  bare hono constant JSON               : ${fmt(b.rps)} req/s, p99 ${b.p99} ms, errors ${b.errors}`);
console.log(`  ratio                                 : ${((100 * s.rps) / b.rps).toFixed(1)}% of bare (target ≥ 80%)`);
