import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MAIN_CACHE_KIB, openDb, WORKER_CACHE_KIB } from '../../src/store/db.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealab-cache-'));
  dirs.push(dir);
  return path.join(dir, 'data', 'sealab.db');
}

/** tsx's ESM register API, so that a worker thread can import the TypeScript sources (as exposure-worker.ts does). */
function tsxRegisterUrl(): string {
  const pkgFile = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(path.join(path.dirname(pkgFile), pkg.exports['./esm/api'].import.default)).href;
}

/** Opens the file with openDb in a real worker thread and answers that connection's cache_size. */
function cacheSizeInWorker(file: string): Promise<number> {
  const db = pathToFileURL(path.resolve('src/store/db.ts')).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(${JSON.stringify(tsxRegisterUrl())})
      .then((tsx) => { tsx.register(); return import(${JSON.stringify(db)}); })
      .then(({ openDb }) => { const c = openDb(workerData); parentPort.postMessage(c.pragma('cache_size', { simple: true })); c.close(); });`;
  const worker = new Worker(code, { eval: true, workerData: file, execArgv: [] });
  return new Promise((resolve, reject) => {
    worker.once('message', (n: number) => {
      resolve(n);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

describe('openDb page cache (ADR 0021)', () => {
  it('bounds the main connection at MAIN_CACHE_KIB and a worker thread connection (the exposure writer) at WORKER_CACHE_KIB', async () => {
    const file = tempFile();
    const main = openDb(file);
    try {
      // A negative cache_size is a bound in KiB, whatever the page size.
      expect(main.pragma('cache_size', { simple: true })).toBe(-MAIN_CACHE_KIB);
      expect(await cacheSizeInWorker(file)).toBe(-WORKER_CACHE_KIB);
    } finally {
      main.close();
    }
    expect(WORKER_CACHE_KIB).toBeLessThan(MAIN_CACHE_KIB);
    expect(MAIN_CACHE_KIB).toBeLessThanOrEqual(16 * 1024); // the bound the soak was measured with
  });
});
