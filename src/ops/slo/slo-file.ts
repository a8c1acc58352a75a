import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../config.js';
import { SloFileSchema, type SloFile } from './slo-schema.js';

/** The SLOs shipped with sealab (policy/slo.json). */
export const DEFAULT_SLO_FILE = fileURLToPath(new URL('../../../policy/slo.json', import.meta.url));

/** Reads and validates an SLO file; any problem is a ConfigError naming the file and every bad path, so start fails fast. */
export function loadSloFile(file: string = DEFAULT_SLO_FILE): SloFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `SLO file ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set SEALAB_SLO_FILE or --slo to a readable JSON file`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`SLO file ${file}: not valid JSON (${(err as Error).message})`);
  }
  return parseSloFile(raw, `SLO file ${file}`);
}

/** Validates an SLO document; `source` names where it came from in the error. */
export function parseSloFile(raw: unknown, source = 'SLO document'): SloFile {
  const parsed = SloFileSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => `  ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
}
