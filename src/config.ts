import { z } from 'zod';
import path from 'node:path';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

const ConfigSchema = z
  .object({
    dataDir: z.string().min(1),
    port: z.coerce.number().int().min(0).max(65535),
    host: z.string().min(1),
    token: z.string().min(16, 'must be at least 16 characters').optional(),
    seedDemo: z.boolean(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    maxBodyBytes: z.coerce.number().int().positive(),
    allowedHosts: z.array(z.string()).default([]),
  })
  .superRefine((c, ctx) => {
    if (!LOOPBACK.has(c.host) && !c.token) {
      ctx.addIssue({ code: 'custom', path: ['token'], message: `is required when binding the non-loopback address ${c.host} (set SEALAB_TOKEN)` });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;
export const isLoopback = (host: string) => LOOPBACK.has(host);

/** Flags win over environment variables, which win over defaults. */
export interface ConfigFlags {
  dataDir?: string;
  port?: string;
  host?: string;
  seedDemo?: boolean;
}

const bool = (v: string | undefined) => (v === undefined ? undefined : !['0', 'false', 'no', 'off'].includes(v.toLowerCase()));

export class ConfigError extends Error {}

/** The only reader of process.env. Fails fast with one message per bad key. */
export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const raw = {
    dataDir: path.resolve(flags.dataDir ?? env.SEALAB_DATA_DIR ?? 'data'),
    port: flags.port ?? env.SEALAB_PORT ?? 8787,
    host: flags.host ?? env.SEALAB_HOST ?? '127.0.0.1',
    token: env.SEALAB_TOKEN || undefined,
    seedDemo: flags.seedDemo ?? bool(env.SEALAB_SEED_DEMO) ?? true,
    logLevel: env.SEALAB_LOG_LEVEL ?? 'info',
    maxBodyBytes: env.SEALAB_MAX_BODY_BYTES ?? 1_048_576,
    allowedHosts: env.SEALAB_ALLOWED_HOSTS ? env.SEALAB_ALLOWED_HOSTS.split(',').map((s) => s.trim()) : [],
  };
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `config ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(lines.join('\n'));
  }
  return parsed.data;
}
