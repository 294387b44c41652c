/**
 * Run-time side of step definitions: resolving `${{ … }}` references in `with`, and retry
 * backoff.
 */
import { canonicalJson } from '../core/hash.js';
import type { RetryPolicy } from './model.js';
import { hasRef, parseTemplate, type Ref } from './refs.js';

/** A step's `with` could not be resolved; the step fails with `code` as its error code. */
export class StepReferenceError extends Error {
  /** `REFERENCE_UNRESOLVED`: the value is missing; `REFERENCE_INVALID`: malformed expression. */
  readonly code: 'REFERENCE_UNRESOLVED' | 'REFERENCE_INVALID';
  readonly expression: string;

  constructor(code: StepReferenceError['code'], expression: string, message: string) {
    super(message);
    this.name = 'StepReferenceError';
    this.code = code;
    this.expression = expression;
  }
}

export interface ResolveContext {
  /** The run's inputs (`undefined` is treated as `{}`). */
  inputs: unknown;
  /** The outputs of a completed step, or `undefined` (not run, skipped, failed). */
  outputs: (stepId: string) => object | undefined;
  /**
   * A reference to a step that has no outputs (it failed, was skipped or cancelled, or has not
   * ended when a `one_failed`/`one_success` step starts): `'fail'` (default) throws
   * `REFERENCE_UNRESOLVED`; `'null'` resolves the whole reference to `null` — what the scheduler
   * does, so an `all_done` clean-up step can still run (docs/DAGS.md). A missing path in a
   * completed step's outputs throws either way.
   */
  notCompleted?: 'fail' | 'null';
}

const INDEX_RE = /^(0|[1-9][0-9]*)$/;

/** Follows a path through own properties and array indexes only (never the prototype chain). */
function follow(root: unknown, path: readonly string[]): { found: boolean; value?: unknown } {
  let cur = root;
  for (const seg of path) {
    if (Array.isArray(cur)) {
      if (!INDEX_RE.test(seg) || Number(seg) >= cur.length) return { found: false };
      cur = cur[Number(seg)];
    } else if (cur !== null && typeof cur === 'object' && Object.hasOwn(cur, seg)) {
      cur = (cur as Record<string, unknown>)[seg];
    } else {
      return { found: false };
    }
  }
  return cur === undefined ? { found: false } : { found: true, value: cur };
}

function lookup(ref: Ref, ctx: ResolveContext): unknown {
  let r: { found: boolean; value?: unknown };
  if (ref.root === 'inputs') {
    r = follow(ctx.inputs ?? {}, ref.path);
  } else {
    const out = ctx.outputs(ref.stepId);
    if (out === undefined) {
      if (ctx.notCompleted === 'null') return null;
      const msg = `${ref.text}: step "${ref.stepId}" has no outputs`;
      throw new StepReferenceError('REFERENCE_UNRESOLVED', ref.text, msg);
    }
    r = follow(out, ref.path);
  }
  if (!r.found) throw new StepReferenceError('REFERENCE_UNRESOLVED', ref.text, `${ref.text}: no such value`);
  return r.value;
}

function resolveString(s: string, ctx: ResolveContext): unknown {
  if (!hasRef(s)) return s;
  const t = parseTemplate(s);
  const bad = t.problems[0];
  if (bad) throw new StepReferenceError('REFERENCE_INVALID', bad.expression, `${bad.expression}: ${bad.message}`);
  const only = t.parts[0];
  if (t.parts.length === 1 && only !== undefined && typeof only !== 'string') {
    return structuredClone(lookup(only, ctx));
  }
  let out = '';
  for (const p of t.parts) {
    if (typeof p === 'string') out += p;
    else {
      const v = lookup(p, ctx);
      out += typeof v === 'string' ? v : canonicalJson(v);
    }
  }
  return out;
}

/**
 * Resolves the references of a step's `with` (a new value; the input is not changed). A string
 * that is exactly one expression becomes the referenced JSON value (any type); expressions
 * inside a longer string are interpolated as text (strings as-is, other values as canonical
 * JSON). Throws {@link StepReferenceError} when a value is missing.
 *
 * @example
 * resolveWith({ img: '${{ inputs.image }}', msg: 'n=${{ steps.a.outputs.n }}' },
 *   { inputs: { image: 'alpine' }, outputs: () => ({ n: 2 }) }) // { img: 'alpine', msg: 'n=2' }
 */
export function resolveWith(withValue: unknown, ctx: ResolveContext): unknown {
  if (typeof withValue === 'string') return resolveString(withValue, ctx);
  if (Array.isArray(withValue)) return withValue.map((v) => resolveWith(v, ctx));
  if (withValue !== null && typeof withValue === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(withValue)) {
      // defineProperty: an own "__proto__" key stays a plain property.
      const value = resolveWith(v, ctx);
      Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return withValue;
}

/** Retry defaults for the fields a `retries` object leaves out (`max` 0: one attempt). */
export const RETRY_DEFAULTS: Readonly<Required<RetryPolicy>> = Object.freeze({
  max: 0,
  backoffMs: 1000,
  factor: 2,
  maxBackoffMs: 300_000,
});

/**
 * Delay in ms before retrying after failed attempt number `attempt` (1-based):
 * `min(maxBackoffMs, backoffMs · factor^(attempt-1))`, rounded, with {@link RETRY_DEFAULTS}.
 *
 * @example
 * backoffMs({ max: 3, backoffMs: 500, factor: 2, maxBackoffMs: 1500 }, 3) // 1500 (500·2² capped)
 */
export function backoffMs(retries: Partial<RetryPolicy> | undefined, attempt: number): number {
  const base = retries?.backoffMs ?? RETRY_DEFAULTS.backoffMs;
  const factor = retries?.factor ?? RETRY_DEFAULTS.factor;
  const cap = retries?.maxBackoffMs ?? RETRY_DEFAULTS.maxBackoffMs;
  const n = Math.max(1, Math.floor(attempt));
  const delay = base * factor ** (n - 1);
  return Number.isFinite(delay) ? Math.round(Math.min(cap, delay)) : cap;
}
