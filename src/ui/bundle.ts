/**
 * Browser bundles for the console (`/ui`) and the MCP App (`ui://sealab/…`), built from
 * src/ui/client/*.ts with esbuild on first use and kept in memory for the life of the process.
 * Built at run time rather than at install so that what is served is always what is in src/
 * (the server runs from source through tsx); one build takes well under a second.
 * Everything is bundled (Observable Plot, d3, the ext-apps App class), so pages work offline.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const CLIENT_DIR = fileURLToPath(new URL('./client', import.meta.url));

/** Entry points, by name: src/ui/client/<name>.ts. */
export type BundleName = string;

const cache = new Map<BundleName, Promise<string>>();

/** The minified ES module for src/ui/client/<name>.ts with its dependencies inlined. */
export function bundle(name: BundleName): Promise<string> {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) return Promise.reject(new Error(`bad bundle name: ${name}`));
  let built = cache.get(name);
  if (!built) {
    built = build({
      entryPoints: [`${CLIENT_DIR}/${name}.ts`],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      legalComments: 'none',
      logLevel: 'silent',
    }).then((r) => r.outputFiles[0]?.text ?? '');
    built.catch(() => cache.delete(name));
    cache.set(name, built);
  }
  return built;
}
