import fs from 'node:fs';
import { ConfigError } from '../config.js';
import { PolicySchema, type Policy } from '../domain/policy.js';

/** Reads and validates a policy file; any problem is a ConfigError naming the file and every bad key, so start fails fast. */
export function loadPolicyFile(file: string): Policy {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `policy file ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set SEALAB_POLICY_FILE to a readable JSON file`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`policy file ${file}: not valid JSON (${(err as Error).message})`);
  }
  return parsePolicy(raw, `policy file ${file}`);
}

/** Validates a policy document; `source` names where it came from in the error. */
export function parsePolicy(raw: unknown, source = 'policy'): Policy {
  const parsed = PolicySchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => `  ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
}
