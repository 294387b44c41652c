/**
 * The error vocabulary of the API (CONTRACT §2). Every failure that reaches a client is an
 * {@link ApiError}; anything else is coerced to `INTERNAL` at the boundary. An error carries a
 * code, a message, details and {@link ErrorHints} only: its HTTP status and headers come from
 * one table at the edge (`http/errors.ts`).
 *
 * @example
 * throw new ApiError('NOT_FOUND', 'run not found');
 */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'TENANT_REQUIRED',
  'TENANT_FORBIDDEN',
  'INSUFFICIENT_SCOPE',
  'VALIDATION_FAILED',
  'INVALID_PAGE_TOKEN',
  'IDEMPOTENCY_KEY_REQUIRED',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'DAG_VERSION_EXISTS',
  'RUN_TOKEN_CONFLICT',
  'SCHEDULE_EXISTS',
  'IDEMPOTENCY_IN_FLIGHT',
  'IDEMPOTENCY_KEY_REUSED',
  'PAYLOAD_TOO_LARGE',
  'HEADERS_TOO_LARGE',
  'REQUEST_TIMEOUT',
  'UNSUPPORTED_MEDIA_TYPE',
  'DAG_INVALID',
  'SIGNATURE_INVALID',
  'INPUTS_INVALID',
  'DAG_DISABLED',
  'PLUGIN_UNAVAILABLE',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
  'INSUFFICIENT_STORAGE',
  'UNAVAILABLE',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * What a client can do about an error besides reading it, said in the domain's words; the HTTP
 * edge (`http/errors.ts`) writes them as headers (`Retry-After`, `WWW-Authenticate`).
 */
export interface ErrorHints {
  /** Whole seconds after which a retry may succeed. */
  retryAfterSeconds?: number;
  /** Why authentication failed: no credentials offered at all, or credentials that were refused. */
  credentials?: 'missing' | 'invalid';
}

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  readonly hints?: ErrorHints;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, hints?: ErrorHints) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.details = details;
    this.hints = hints;
  }
}

/** Anything thrown, as an Error (graphile-worker's `coerceError`). */
export function coerceError(err: unknown): Error {
  // Total: `instanceof`, JSON.stringify and String() all run user code on a hostile value (a
  // Proxy, an object whose toString throws); none of that may escape an error handler.
  try {
    if (err instanceof Error) return err;
    if (typeof err === 'string') return new Error(err);
    try {
      return new Error(`non-Error thrown: ${JSON.stringify(err)}`);
    } catch {
      return new Error(`non-Error thrown: ${String(err)}`);
    }
  } catch {
    return new Error('non-Error thrown: (a value that cannot be read)');
  }
}

/** Maps an unknown failure to an ApiError; disk-full errors become INSUFFICIENT_STORAGE. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { code?: string } | undefined;
  if (e && (e.code === 'ENOSPC' || e.code === 'SQLITE_FULL' || e.code === 'EDQUOT')) {
    return new ApiError('INSUFFICIENT_STORAGE', 'storage is full');
  }
  return new ApiError('INTERNAL', 'internal error');
}
