/**
 * A step's failure as it crosses threads and is recorded: the `StepError` a plugin throws,
 * and the total, stack-free `{code, message, retryable}` record made of anything thrown or
 * relayed (a host, which a plugin can forge, is not trusted).
 *
 * @example
 * toStepErrorInfo(new StepError('UPSTREAM_DOWN', 'registry unreachable')); // { code: 'UPSTREAM_DOWN', ..., retryable: true }
 */

/** A step's failure as it crosses threads and is recorded. `code` is UPPER_SNAKE. */
export interface StepErrorInfo {
  code: string;
  message: string;
  retryable: boolean;
}

const CODE_RE = /^[A-Z][A-Z0-9_]{0,63}$/;
const MAX_MESSAGE = 2000;

/** An UPPER_SNAKE error code from anything (invalid → `fallback`). */
export function normalizeErrorCode(code: unknown, fallback = 'STEP_FAILED'): string {
  if (typeof code !== 'string') return fallback;
  if (CODE_RE.test(code)) return code;
  const c = code.toUpperCase().replace(/[^A-Z0-9_]+/g, '_').replace(/^[^A-Z]+/, '').slice(0, 64);
  return CODE_RE.test(c) ? c : fallback;
}

/**
 * A step error as relayed by a host, which a plugin can forge: anything that is not a
 * `{code, message, retryable}` record is made one (an invalid code becomes `STEP_FAILED`).
 */
export function checkedErrorInfo(e: unknown): StepErrorInfo {
  const r = (e !== null && typeof e === 'object' ? e : {}) as Partial<Record<keyof StepErrorInfo, unknown>>;
  const code = normalizeErrorCode(r.code);
  return {
    code,
    message: typeof r.message === 'string' ? clip(r.message) : code,
    retryable: typeof r.retryable === 'boolean' ? r.retryable : true,
  };
}

function clip(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
}

/**
 * The control-flow error of a step: throw it (or call `ctx.fail`) to fail with a chosen code.
 * Plugins outside the source tree reach it as `ctx.StepError`, or throw any Error whose
 * `name` is `'StepError'` and that has a string `code` (and optional boolean `retryable`).
 *
 * @example throw new StepError('UPSTREAM_DOWN', 'registry unreachable', { retryable: true });
 */
export class StepError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(code: string, message?: string, options: { retryable?: boolean } = {}) {
    const c = normalizeErrorCode(code);
    super(message ?? c);
    this.name = 'StepError';
    this.code = c;
    this.retryable = options.retryable ?? true;
  }
}

/**
 * Serialises anything a step threw: StepError-like errors keep their code; other Errors become
 * `STEP_FAILED` (retryable); non-Error values are described (`non-Error thrown: …`). Never
 * includes a stack.
 */
export function toStepErrorInfo(err: unknown): StepErrorInfo {
  // Total: a Proxy that throws on every access, or an Error whose getters throw, must still
  // fail its step (an exception here would leave the step running until its timeout).
  try {
    return describeThrown(err);
  } catch {
    return { code: 'STEP_FAILED', message: 'non-Error thrown: (a value that cannot be read)', retryable: true };
  }
}

function describeThrown(err: unknown): StepErrorInfo {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; retryable?: unknown };
    if (e.name === 'StepError' && typeof e.code === 'string') {
      return {
        code: normalizeErrorCode(e.code),
        message: clip(String(e.message || e.code)),
        retryable: typeof e.retryable === 'boolean' ? e.retryable : true,
      };
    }
    return { code: 'STEP_FAILED', message: clip(String(e.message || e.name || 'error')), retryable: true };
  }
  let text: string;
  if (typeof err === 'string') text = err;
  else {
    try {
      text = `non-Error thrown: ${JSON.stringify(err) ?? String(err)}`;
    } catch {
      text = `non-Error thrown: ${Object.prototype.toString.call(err)}`;
    }
  }
  return { code: 'STEP_FAILED', message: clip(text || 'non-Error thrown: (empty string)'), retryable: true };
}
