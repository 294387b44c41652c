/**
 * How a domain error is answered over HTTP, in one table: its status by code (CONTRACT §2) and
 * the headers its hints ask for (`Retry-After` from `retryAfterSeconds`, the RFC 6750
 * `WWW-Authenticate` challenge from `credentials`, `Allow` from a 405's `details.allowed`).
 *
 * @example
 * ERROR_STATUS.NOT_FOUND; // 404
 * errorHeaders(new ApiError('UNAVAILABLE', 'starting', undefined, { retryAfterSeconds: 1 })); // { 'Retry-After': '1' }
 */
import type { ApiError, ErrorCode } from '../core/index.js';

export const ERROR_STATUS = {
  UNAUTHENTICATED: 401,
  TENANT_REQUIRED: 403,
  TENANT_FORBIDDEN: 403,
  INSUFFICIENT_SCOPE: 403,
  VALIDATION_FAILED: 400,
  INVALID_PAGE_TOKEN: 400,
  IDEMPOTENCY_KEY_REQUIRED: 400,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  DAG_VERSION_EXISTS: 409,
  RUN_TOKEN_CONFLICT: 409,
  SCHEDULE_EXISTS: 409,
  IDEMPOTENCY_IN_FLIGHT: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  PAYLOAD_TOO_LARGE: 413,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  UNSUPPORTED_MEDIA_TYPE: 415,
  DAG_INVALID: 422,
  SIGNATURE_INVALID: 422,
  INPUTS_INVALID: 422,
  DAG_DISABLED: 422,
  PLUGIN_UNAVAILABLE: 422,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  INSUFFICIENT_STORAGE: 507,
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const satisfies Record<ErrorCode, number>;

const REALM = 'Bearer realm="orchestrator"';

/** The response headers an error's hints ask for. */
export function errorHeaders(e: ApiError): Record<string, string> {
  const h: Record<string, string> = {};
  const hints = e.hints;
  if (hints?.retryAfterSeconds !== undefined) h['Retry-After'] = String(hints.retryAfterSeconds);
  if (hints?.credentials === 'missing') h['WWW-Authenticate'] = REALM;
  if (hints?.credentials === 'invalid') h['WWW-Authenticate'] = `${REALM}, error="invalid_token"`;
  const allowed = e.details?.allowed;
  if (e.code === 'METHOD_NOT_ALLOWED' && Array.isArray(allowed)) h.Allow = allowed.join(', ');
  return h;
}
