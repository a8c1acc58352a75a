import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** JSON logs to stderr only: stdout belongs to the stdio protocol. Tests pass a destination to read the lines. */
export function createLogger(level: string, destination: DestinationStream = pino.destination(2)): Logger {
  return pino({ level, base: { svc: 'sealab' } }, destination);
}
