import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** JSON lines to stdout, or to `destination` (the command line logs to stderr). */
export function createLogger(level: string, name = 'surgewatch', destination?: DestinationStream): Logger {
  return destination ? pino({ name, level, base: { pid: process.pid } }, destination) : pino({ name, level, base: { pid: process.pid } });
}

export const silentLogger: Logger = pino({ level: 'silent' });
