import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The paths `npm pack` would put in the tarball, read from npm itself. */
function packed(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [pack] = JSON.parse(out) as { files: { path: string }[] }[];
  return pack!.files.map((f) => f.path).sort();
}

/** Relative module specifiers and `new URL(..., import.meta.url)` files a source file loads at run time. */
function localLoads(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g), ...text.matchAll(/new URL\('(\.{1,2}\/[^']+)',\s*import\.meta\.url\)/g)].map(
    (m) => m[1]!,
  );
  return specs.map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(file), s)));
}

describe('npm pack', () => {
  const files = packed();

  it('ships what a user runs: the launcher, the sources, policy, LICENSE and README', () => {
    for (const f of [
      'LICENSE',
      'README.md',
      'package.json',
      'bin/sealab.js',
      'src/main.ts',
      'src/cli/client-config.ts',
      'tools/index.ts',
      'resources/index.ts',
      'prompts/index.ts',
      'policy/default.json',
      'catalog/demo/surfaces.yaml',
    ])
      expect(files).toContain(f);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; license: string };
    for (const bin of Object.values(pkg.bin)) expect(files).toContain(path.posix.normalize(bin));
    expect(pkg.license).toBe('Apache-2.0');
    expect(readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004[\s\S]*Copyright 2026 The sealab authors/);
  });

  it('ships nothing else: no tests, benchmarks, CI, scripts, docs, data or local configs', () => {
    const top = new Set(files.map((f) => f.split('/')[0]));
    expect([...top].sort()).toEqual(['LICENSE', 'README.md', 'bin', 'catalog', 'package.json', 'policy', 'prompts', 'resources', 'src', 'tools']);
    expect(files.filter((f) => /\.test\.ts$|\.db$|tokens\.json$/.test(f))).toEqual([]);
  });

  it('every file a packed module loads is packed too', () => {
    const shipped = new Set(files);
    const loads = files.filter((f) => /\.(ts|js)$/.test(f)).flatMap((f) => localLoads(f).map((target) => ({ from: f, target })));
    expect(loads.map((l) => l.target)).toEqual(expect.arrayContaining(['src/main.ts', 'policy/default.json', 'tools/index.js']));
    // A directory (catalog/demo, or src/ui/client/ as a URL) is shipped when files under it are.
    const missing = loads.filter(
      ({ target }) => !shipped.has(target) && !shipped.has(target.replace(/\.js$/, '.ts')) && !files.some((f) => f.startsWith(`${target.replace(/\/$/, '')}/`)),
    );
    expect(missing).toEqual([]);
  });
});
