import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * A worker thread's entry as eval'd code, for the module `name` beside this one (the exposure writer's thread, the
 * fold's). From the TypeScript sources (tsx, vitest) the thread registers tsx's loader first, as bin/sealab.js
 * does: a worker does not inherit the loader the main thread runs under.
 */
export function threadEntry(name: string): string {
  const here = import.meta.url;
  const fromSource = here.endsWith('.ts');
  const entry = new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, here).href;
  if (!fromSource) return `import(${JSON.stringify(entry)});`;
  return `import(${JSON.stringify(tsxRegisterUrl())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
}

let tsxApi: string | undefined;

/** tsx's ESM `register` API (its package's exports map, import condition), as a file URL. */
function tsxRegisterUrl(): string {
  if (tsxApi) return tsxApi;
  const pkgFile = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  tsxApi = pathToFileURL(path.join(path.dirname(pkgFile), pkg.exports['./esm/api'].import.default)).href;
  return tsxApi;
}
