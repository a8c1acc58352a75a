import { z } from 'zod';
import { DIAGNOSIS_DEFAULTS } from './diagnosis.js';

/** The diagnosis's knobs, shared by diagnose_orchestration and GET /v1/ops/operations (query strings are coerced). */
export const DiagnosisOptionsSchema = z.object({
  windowMinutes: z.coerce
    .number()
    .int()
    .min(1)
    .max(43_200)
    .default(DIAGNOSIS_DEFAULTS.windowMinutes)
    .describe('How far back to read operations and tool calls, in minutes, e.g. 60'),
  limit: z.coerce.number().int().min(1).max(50).default(DIAGNOSIS_DEFAULTS.limit).describe('How many of the slowest operations to list, e.g. 5'),
  stuckAfterSeconds: z.coerce
    .number()
    .int()
    .min(1)
    .max(86_400 * 30)
    .default(DIAGNOSIS_DEFAULTS.stuckAfterSeconds)
    .describe('An unfinished operation older than this is listed as stuck, e.g. 60'),
});

const Latency = { count: z.number().int(), errors: z.number().int(), p50Ms: z.number(), p95Ms: z.number(), maxMs: z.number() };

/** What diagnose() answers (src/ops/diagnosis.ts), for the tool's output schema and the OpenAPI document. */
export const DiagnosisSchema = z.object({
  window: z.object({ from: z.string(), to: z.string(), minutes: z.number() }),
  slowest: z
    .array(
      z.object({
        opId: z.string(),
        kind: z.string(),
        experimentId: z.string(),
        status: z.string(),
        totalMs: z.number(),
        dominant: z.object({ step: z.string(), system: z.string().nullable(), ms: z.number(), share: z.number().describe('Fraction of totalMs') }),
      }),
    )
    .describe('Slowest saga operations in the window, each with the step that took most of its time'),
  steps: z
    .array(z.object({ step: z.string(), phase: z.enum(['queued', 'call', 'commit']), system: z.string().nullable(), retries: z.number().int(), ...Latency }))
    .describe('Per step, slowest p95 first'),
  systems: z.array(z.object({ system: z.string(), retries: z.number().int(), ...Latency })).describe('Per downstream system, slowest p95 first'),
  queues: z.object({
    pendingOperations: z.number().int(),
    compensatingOperations: z.number().int(),
    inFlightHere: z.number().int().describe('Unfinished operations this process owns'),
    exposureBuffer: z.number().int().describe('Exposures waiting to be written'),
  }),
  stuck: z
    .array(
      z.object({
        opId: z.string(),
        kind: z.string(),
        experimentId: z.string(),
        status: z.string(),
        startedAt: z.string(),
        ageSeconds: z.number(),
        owner: z.string().nullable().describe('host/pid/nonce of the process running it'),
        ownerIsThisProcess: z.boolean(),
        leaseUntil: z.string().nullable(),
        leaseExpired: z.boolean().describe('true: recovery may take it over'),
        attempting: z.string().nullable().describe('Step sent and not yet confirmed'),
        stepsDone: z.array(z.string()),
      }),
    )
    .describe('Unfinished operations older than stuckAfterSeconds'),
  leases: z.array(z.object({ name: z.string(), owner: z.string(), until: z.string() })).describe('Named leases (e.g. the ramp scheduler) and their holders'),
  tools: z.array(z.object({ tool: z.string(), ...Latency })).describe("This process's recent MCP tool calls, slowest p95 first"),
});
