import fs from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { AppError } from '../../errors.js';
import type { CatalogSource, PathSeg } from './catalog-check.js';
import type { CatalogIssue } from './catalog-document.js';

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** The catalog files of a directory, recursively, sorted by relative path (so every reader sees the same order). */
export function catalogFiles(dir: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new AppError(
      'NOT_FOUND',
      `catalog directory '${dir}' does not exist`,
      'Pass a directory of *.yaml, *.yml or *.json catalog files, e.g. catalog/demo.',
    );
  }
  if (!stat.isDirectory()) throw new AppError('INVALID_INPUT', `'${dir}' is not a directory`, 'Pass the directory holding the catalog files, not one file.');
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (EXTENSIONS.has(path.extname(e.name).toLowerCase())) out.push(path.relative(dir, p).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Reads and parses every catalog file of `dir` with the yaml package (JSON is YAML too), keeping each
 * node's position so a problem found later can name its line. Syntax errors are issues, not throws.
 */
export function readCatalogDir(dir: string): { sources: CatalogSource[]; issues: CatalogIssue[] } {
  const sources: CatalogSource[] = [];
  const issues: CatalogIssue[] = [];
  for (const file of catalogFiles(dir)) {
    const lines = new LineCounter();
    const doc = parseDocument(fs.readFileSync(path.join(dir, file), 'utf8'), { lineCounter: lines });
    if (doc.errors.length) {
      for (const e of doc.errors)
        issues.push({
          severity: 'error',
          file,
          path: '',
          line: e.linePos?.[0].line ?? null,
          message: `not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${e.message.split('\n')[0]}`,
          hint: 'Fix the syntax at that line (indentation, a missing ] or }, a duplicate key, a tab).',
        });
      continue;
    }
    sources.push({ file, value: doc.toJS(), line: (p) => lineOf(doc, p, lines) });
  }
  return { sources, issues };
}

/** The 1-based line of the node at `path`, or of its nearest ancestor that exists (a missing key: the mapping that lacks it). */
export function lineOf(doc: Document, target: PathSeg[], lines: LineCounter): number | null {
  let node: unknown = doc.contents;
  let offset: number | undefined = (node as Node | null)?.range?.[0];
  for (const seg of target) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
      node = node.items[seg];
      offset = (node as Node).range?.[0] ?? offset;
    } else break;
  }
  return offset === undefined ? null : lines.linePos(offset).line;
}
