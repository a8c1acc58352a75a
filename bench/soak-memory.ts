/**
 * What bench/soak.ts reads of the server's memory, from outside the process (no debug route): the kernel's
 * view in /proc/<pid>/status and /proc/<pid>/smaps, V8's view from the server's own /metrics (prom-client's
 * default nodejs_* gauges are process.memoryUsage()), and the size of the SQLite files.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface MemorySample {
  /** Seconds since the load started. */
  t: number;
  /** VmRSS = RssAnon + RssFile + RssShmem (MB). */
  rss: number;
  anon: number;
  file: number;
  /** Shared memory mapped by the process: SQLite's WAL index (sealab.db-shm). */
  shmem: number;
  /** The SQLite files mapped into the process (any of sealab.db*), resident MB. */
  dbMapped: number;
  /** glibc's main malloc arena ([heap] in smaps), resident MB. */
  brk: number;
  /** V8 (main thread): heap used, heap committed, and memory held outside the heap for JS objects (Buffers, ArrayBuffers). */
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** RssAnon − V8 heap committed − external: SQLite's page caches, malloc arenas and free lists, the worker thread's isolate, code. */
  native: number;
  /** sealab.db and sealab.db-events, and their WALs, on disk (MB). */
  db: number;
  wal: number;
  requests: number;
}

const MB = 2 ** 20;

/** Resident kB of one field of /proc/<pid>/status, in MB. */
function statusMb(status: string, field: string): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** Resident MB of the mappings smaps names by `match` (a path or [heap]). */
function smapsMb(pid: number, match: (name: string) => boolean): number {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return Number.NaN;
  }
  let kb = 0;
  let counting = false;
  for (const line of text.split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) counting = match(header[1]);
    else if (counting && line.startsWith('Rss:')) kb += Number(/(\d+)/.exec(line)?.[1] ?? 0);
  }
  return kb / 1024;
}

/** V8's figures from the server's /metrics text (prom-client's default metrics), in MB. */
async function v8Mb(url: string): Promise<{ heapUsed: number; heapTotal: number; external: number }> {
  const text = await fetch(`${url}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN) / MB;
  return { heapUsed: gauge('nodejs_heap_size_used_bytes'), heapTotal: gauge('nodejs_heap_size_total_bytes'), external: gauge('nodejs_external_memory_bytes') };
}

const fileMb = (file: string) => {
  try {
    return fs.statSync(file).size / MB;
  } catch {
    return 0;
  }
};

/** One sample of everything above; `requests` is the load's count so far (for the rate). */
export async function sampleMemory(pid: number, url: string, dataDir: string, t: number, requests: number): Promise<MemorySample> {
  const v8 = await v8Mb(url);
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const anon = statusMb(status, 'RssAnon');
  return {
    t,
    rss: statusMb(status, 'VmRSS'),
    anon,
    file: statusMb(status, 'RssFile'),
    shmem: statusMb(status, 'RssShmem'),
    dbMapped: smapsMb(pid, (name) => path.basename(name).startsWith('sealab.db')),
    brk: smapsMb(pid, (name) => name === '[heap]'),
    ...v8,
    native: anon - v8.heapTotal - v8.external,
    // The database and its event log file (ADR 0018), each with its WAL.
    db: fileMb(path.join(dataDir, 'sealab.db')) + fileMb(path.join(dataDir, 'sealab.db-events')),
    wal: fileMb(path.join(dataDir, 'sealab.db-wal')) + fileMb(path.join(dataDir, 'sealab.db-events-wal')),
    requests,
  };
}

/** Least-squares slope of `y` against time, MB per minute. */
export function slope(xs: MemorySample[], y: (s: MemorySample) => number = (s) => s.rss): number {
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const mt = xs.reduce((a, s) => a + s.t, 0) / n;
  const my = xs.reduce((a, s) => a + y(s), 0) / n;
  const num = xs.reduce((a, s) => a + (s.t - mt) * (y(s) - my), 0);
  const den = xs.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  return (num / den) * 60;
}

const col = (x: number, w = 6) => x.toFixed(1).padStart(w);

export const CURVE_HEADER = '     t    rss   anon   file    shm  db-map    brk  heap-used heap-total external  native  db-file    wal   req/s';

/** One line of the curve, columns as CURVE_HEADER (MB, except t in seconds and the request rate). */
export function curveLine(s: MemorySample, rate: number): string {
  return (
    `${s.t.toFixed(0).padStart(6)} ${col(s.rss)} ${col(s.anon)} ${col(s.file)} ${col(s.shmem)} ${col(s.dbMapped, 7)} ${col(s.brk)} ` +
    `${col(s.heapUsed, 10)} ${col(s.heapTotal, 10)} ${col(s.external, 8)} ${col(s.native, 7)} ${col(s.db, 8)} ${col(s.wal)} ${Math.round(rate).toString().padStart(7)}`
  );
}
