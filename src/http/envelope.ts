import type { Context } from 'hono';
import { ApiError, toApiError } from '../core/index.js';
import type { Trace } from './middleware/trace.js';
import type { HttpResult } from './route.js';
import { errorHeaders, ERROR_STATUS } from './errors.js';

/** A handler's result as the Response sent: JSON body (none for 204), its headers, then `extra`. */
export function toResponse(r: HttpResult, extra?: Record<string, string>): Response {
  const headers = new Headers(r.headers);
  if (extra) for (const [k, v] of Object.entries(extra)) headers.set(k, v);
  const json = r.status === 204 ? undefined : r.json ?? (r.body === undefined ? undefined : JSON.stringify(r.body));
  if (json === undefined) return new Response(null, { status: r.status, headers });
  headers.set('content-type', 'application/json; charset=utf-8');
  return new Response(json, { status: r.status, headers });
}

export interface ErrorEnvelope {
  error: { code: string; message: string; trace_id: string; details?: Record<string, unknown> };
}

/** The one way an error leaves the server: the envelope, never a stack, SQL or path. */
export function errorResponse(c: Context, err: unknown): Response {
  const e: ApiError = toApiError(err);
  const trace = c.get('trace') as Trace | undefined;
  const body: ErrorEnvelope = {
    error: { code: e.code, message: e.message, trace_id: trace?.traceId ?? '0'.repeat(32) },
  };
  if (e.details) body.error.details = e.details;
  const res = c.json(body, ERROR_STATUS[e.code] as 400);
  for (const [k, v] of Object.entries(errorHeaders(e))) res.headers.set(k, v);
  return res;
}
