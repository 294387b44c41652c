/** A pino logger whose JSON lines are kept in memory, for tests that check what the server logs. */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export function captureLogger(level = 'info'): { logger: Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
