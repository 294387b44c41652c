import type { Context } from 'hono';
import { ApiError, toApiError } from '../core/index.js';
import type { Trace } from './middleware/trace.js';
import type { HttpResult } from './route.js';
import { errorHeaders, ERROR_STATUS } from './errors.js';
import { answerResponse } from './middleware/answer.js';

const JSON_TYPE = 'application/json; charset=utf-8';
const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': JSON_TYPE });

/**
 * A handler's result as the Response sent: JSON body (none for 204) and its headers, with every
 * header an answer carries (middleware/answer.ts).
 */
export function toResponse(c: Context, r: HttpResult): Response {
  const json = r.status === 204 ? undefined : r.json ?? (r.body === undefined ? undefined : JSON.stringify(r.body));
  if (json === undefined) return answerResponse(c, r.status, null, r.headers);
  return answerResponse(c, r.status, json, r.headers === undefined ? JSON_HEADERS : { ...r.headers, 'content-type': JSON_TYPE });
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
  return answerResponse(c, ERROR_STATUS[e.code], JSON.stringify(body), { 'content-type': 'application/json', ...errorHeaders(e) });
}
