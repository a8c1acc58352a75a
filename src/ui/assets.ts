import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let css: string | undefined;

/** The console's stylesheet (src/ui/console.css), read once. */
export function consoleCss(): string {
  css ??= readFileSync(fileURLToPath(new URL('./console.css', import.meta.url)), 'utf8');
  return css;
}
