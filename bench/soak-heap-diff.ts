/**
 * What grew between two V8 heap snapshots of one process (bench/soak.ts --snapshots DIR writes them): the
 * constructors whose instances grew most in count and self size, and the objects alive in both snapshots
 * whose retained size grew most (V8 keeps an object's id across snapshots of one process; retained sizes
 * come from the dominator tree, weak edges ignored, as DevTools computes them). A container that leaks
 * shows up as an object whose retained size climbs, together with the chain of objects holding it.
 *
 *   npx tsx bench/soak-heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top 20] [--expand ID]
 *   (--expand ID: what the object @ID dominates, child by child, before and after; --list NAME: the objects of one
 *   constructor in the second snapshot with their retained sizes)
 */
import fs from 'node:fs';
import { arg } from './util.js';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] }; node_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Heap {
  count: number;
  /** The strong edges out of node i: [edge name, target]. */
  children: (i: number) => [string, number][];
  type: (i: number) => string;
  name: (i: number) => string;
  id: Int32Array | Float64Array;
  self: Float64Array;
  retained: Float64Array;
}

/** Parses a snapshot and computes every node's retained size (Cooper–Harvey–Kennedy dominators over strong edges). */
function load(file: string): Heap {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
  const { meta } = raw.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const [nType, nName, nId, nSelf, nEdges] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f));
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f));
  const weak = meta.edge_types[0].indexOf('weak');
  const shortcut = meta.edge_types[0].indexOf('shortcut');
  const count = raw.nodes.length / nf;
  const id = new Float64Array(count);
  const self = new Float64Array(count);
  const firstEdge = new Int32Array(count + 1);
  for (let i = 0; i < count; i++) {
    id[i] = raw.nodes[i * nf + nId];
    self[i] = raw.nodes[i * nf + nSelf];
    firstEdge[i + 1] = firstEdge[i] + raw.nodes[i * nf + nEdges];
  }
  const strong = (e: number) => raw.edges[e * ef + eType] !== weak && raw.edges[e * ef + eType] !== shortcut;
  const target = (e: number) => raw.edges[e * ef + eTo] / nf;

  // Depth-first post-order from the synthetic root (node 0).
  const order = new Int32Array(count).fill(-1); // post-order number
  const post: number[] = [];
  const stack = [0];
  const cursor = new Int32Array(count);
  const seen = new Uint8Array(count);
  seen[0] = 1;
  for (let i = 0; i < count; i++) cursor[i] = firstEdge[i];
  while (stack.length) {
    const v = stack.at(-1)!;
    if (cursor[v] < firstEdge[v + 1]) {
      const e = cursor[v]++;
      const w = target(e);
      if (strong(e) && !seen[w]) {
        seen[w] = 1;
        stack.push(w);
      }
    } else {
      stack.pop();
      order[v] = post.length;
      post.push(v);
    }
  }
  // Predecessors over strong edges between reachable nodes.
  const predCount = new Int32Array(count + 1);
  for (let v = 0; v < count; v++)
    if (seen[v]) for (let e = firstEdge[v]; e < firstEdge[v + 1]; e++) if (strong(e) && seen[target(e)]) predCount[target(e) + 1]++;
  for (let i = 0; i < count; i++) predCount[i + 1] += predCount[i];
  const preds = new Int32Array(predCount[count]);
  const fill = predCount.slice();
  for (let v = 0; v < count; v++)
    if (seen[v]) for (let e = firstEdge[v]; e < firstEdge[v + 1]; e++) if (strong(e) && seen[target(e)]) preds[fill[target(e)]++] = v;

  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (order[a] < order[b]) a = idom[a];
      while (order[b] < order[a]) b = idom[b];
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = post.length - 2; k >= 0; k--) {
      const v = post[k];
      let d = -1;
      for (let p = predCount[v]; p < predCount[v + 1]; p++) {
        const u = preds[p];
        if (idom[u] === -1) continue;
        d = d === -1 ? u : intersect(u, d);
      }
      if (d !== -1 && idom[v] !== d) {
        idom[v] = d;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(count);
  for (const v of post) retained[v] += self[v];
  for (const v of post) if (v !== 0 && idom[v] >= 0) retained[idom[v]] += retained[v];
  const edgeName = (e: number) => {
    const t = meta.edge_types[0][raw.edges[e * ef + eType]];
    const n = raw.edges[e * ef + eName];
    return t === 'element' || t === 'hidden' ? `[${n}]` : raw.strings[n];
  };
  return {
    count,
    children: (i) => {
      const out: [string, number][] = [];
      for (let e = firstEdge[i]; e < firstEdge[i + 1]; e++) if (strong(e) && idom[target(e)] === i) out.push([edgeName(e), target(e)]);
      return out;
    },
    type: (i) => meta.node_types[0][raw.nodes[i * nf + nType]],
    name: (i) => raw.strings[raw.nodes[i * nf + nName]],
    id,
    self,
    retained,
  };
}

/** What a node is, as DevTools' summary groups it: a constructor name, or the kind for strings, code and V8 internals. */
function kind(h: Heap, i: number): string {
  const t = h.type(i);
  if (t === 'object' || t === 'closure' || t === 'native') return `${h.name(i).slice(0, 60)}${t === 'closure' ? '()' : ''}`;
  if (t.includes('string')) return '(string)';
  return `(${t}) ${h.name(i).slice(0, 40)}`;
}

function byKind(h: Heap): Map<string, { n: number; size: number }> {
  const m = new Map<string, { n: number; size: number }>();
  for (let i = 0; i < h.count; i++) {
    const k = kind(h, i);
    const row = m.get(k) ?? { n: 0, size: 0 };
    row.n++;
    row.size += h.self[i];
    m.set(k, row);
  }
  return m;
}

const [fileA, fileB] = process.argv.slice(2).filter((a) => a.endsWith('.heapsnapshot'));
if (!fileA || !fileB) throw new Error('usage: npx tsx bench/soak-heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top 20]');
const TOP = arg('top', 20);
const a = load(fileA);
const b = load(fileB);
const kb = (x: number) => `${(x / 1024).toFixed(1)} KB`;
const total = (h: Heap) => h.self.reduce((s, x) => s + x, 0);
console.log(`heap ${kb(total(a))} (${a.count} objects) → ${kb(total(b))} (${b.count} objects)`);

const ka = byKind(a);
const rows = [...byKind(b)].map(([k, v]) => ({ k, dn: v.n - (ka.get(k)?.n ?? 0), ds: v.size - (ka.get(k)?.size ?? 0), n: v.n }));
console.log(`\nconstructors by self-size growth (count then → now):`);
for (const r of rows.sort((x, y) => y.ds - x.ds).slice(0, TOP))
  console.log(`  ${kb(r.ds).padStart(12)}  ${(r.dn >= 0 ? '+' : '') + r.dn} objects (now ${r.n})  ${r.k}`);

const indexA = new Map<number, number>();
for (let i = 0; i < a.count; i++) indexA.set(a.id[i], i);
const grown: { i: number; before: number; d: number }[] = [];
for (let i = 0; i < b.count; i++) {
  const j = indexA.get(b.id[i]);
  if (j !== undefined && b.retained[i] - a.retained[j] > 0) grown.push({ i, before: a.retained[j], d: b.retained[i] - a.retained[j] });
}
console.log(`\nobjects alive in both whose retained size grew most (retained then → now):`);
for (const g of grown.sort((x, y) => y.d - x.d).slice(0, TOP))
  console.log(`  +${kb(g.d).padStart(11)}  ${kb(g.before)} → ${kb(b.retained[g.i])}  @${b.id[g.i]} ${kind(b, g.i)}`);

// --expand ID: the objects that node ID dominates (what its retained size is made of), largest growth first.
const expandAt = process.argv.indexOf('--expand');
if (expandAt > 0) {
  const wanted = Number(process.argv[expandAt + 1]);
  const ib = b.id.indexOf(wanted);
  if (ib < 0) throw new Error(`no object @${wanted} in ${fileB}`);
  const ia = indexA.get(wanted);
  const before = new Map((ia === undefined ? [] : a.children(ia)).map(([, j]) => [a.id[j], a.retained[j]]));
  console.log(`\n@${wanted} ${kind(b, ib)} dominates (retained then → now):`);
  for (const [edge, j] of b
    .children(ib)
    .sort((x, y) => b.retained[y[1]] - (before.get(b.id[y[1]]) ?? 0) - (b.retained[x[1]] - (before.get(b.id[x[1]]) ?? 0)))
    .slice(0, TOP))
    console.log(`  ${String(edge).slice(0, 40).padEnd(40)} ${kb(before.get(b.id[j]) ?? 0)} → ${kb(b.retained[j])}  @${b.id[j]} ${kind(b, j)}`);
}

// --list NAME: every object of constructor NAME in the second snapshot, with its retained size (largest first).
const listAt = process.argv.indexOf('--list');
if (listAt > 0) {
  const name = process.argv[listAt + 1];
  const found = [];
  for (let i = 0; i < b.count; i++) if (b.name(i) === name && b.type(i) === 'object') found.push(i);
  const sum = found.reduce((s, i) => s + b.retained[i], 0);
  console.log(`\n${found.length} × ${name}, retaining ${kb(sum)} in all:`);
  for (const i of found.sort((x, y) => b.retained[y] - b.retained[x]).slice(0, TOP)) console.log(`  ${kb(b.retained[i]).padStart(12)}  @${b.id[i]}`);
}
