import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs to stderr only: stdout belongs to the stdio protocol. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { svc: 'sealab' } }, pino.destination(2));
}
