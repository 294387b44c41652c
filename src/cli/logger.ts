/**
 * The server's logger: pino, JSON lines on stdout.
 *
 * @example
 * const logger = createLogger('info');
 */
import pino, { type Logger } from 'pino';

export function createLogger(level: string): Logger {
  // Synchronous writes to stdout: lines keep their order and none is lost on a crash; no
  // transports, so the single executable needs no extra files.
  return pino({
    level,
    base: { pid: process.pid },
    redact: { paths: ['authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization'], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, pino.destination({ dest: 1, sync: true }));
}
