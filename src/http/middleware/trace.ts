import { randomHex } from '../../core/ids.js';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface Trace {
  traceId: string;
  spanId: string;
  flags: string;
}

/** Parses a W3C traceparent; an invalid or missing header starts a new trace (never an error). */
export function parseTraceparent(header: string | undefined): Trace {
  const m = header ? TRACEPARENT.exec(header.trim()) : null;
  const valid =
    m && m[1] !== 'ff' && !/^0+$/.test(m[2]!) && !/^0+$/.test(m[3]!) && (m[1] !== '00' || header!.trim().length === 55);
  return {
    traceId: valid ? m![2]! : randomHex(16),
    spanId: randomHex(8),
    flags: valid ? m![4]! : '01',
  };
}

export function formatTraceparent(t: Trace): string {
  return `00-${t.traceId}-${t.spanId}-${t.flags}`;
}

declare module 'hono' {
  interface ContextVariableMap {
    trace: Trace;
  }
}
