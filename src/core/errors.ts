/**
 * The error vocabulary of the API (CONTRACT §2). Every failure that reaches a client is an
 * {@link ApiError}; anything else is coerced to `INTERNAL` at the boundary.
 *
 * @example
 * throw new ApiError('NOT_FOUND', 'run not found');
 */
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
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;
  /** Extra response headers (e.g. `Retry-After`, `WWW-Authenticate`). */
  readonly headers?: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
    headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
    this.headers = headers;
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
