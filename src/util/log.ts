import pino, { type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The one root logger of a CLI process. Logs go to stderr: JSON for machines, pino-pretty when a person
 * is watching a terminal.
 */
export function createRootLogger(level: LogLevel = 'info'): Logger {
  if (process.stderr.isTTY) {
    return pino({
      level,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, colorize: true, translateTime: 'HH:MM:ss.l' },
      },
    });
  }
  return pino({ level }, pino.destination({ fd: 2, sync: false }));
}

/** Library objects log nothing unless given a logger. */
export const silentLogger: Logger = pino({ level: 'silent' });
