/**
 * Idempotency-Key handling for every mutating request (POST, PUT, DELETE: `isMutating`) (CONTRACT §3),
 * written once as a middleware of the route pipeline.
 *
 * The first request claims its key (an `in_flight` record); its effect and the recorded answer
 * commit in one transaction (the handler's `ctx.commit`, which this middleware wraps); a replay
 * returns the recorded status and body with `Idempotency-Replayed: true`. Only successful (2xx)
 * answers are recorded: a request that failed releases its key so the client may retry it.
 *
 * @example
 * const idem = idempotency(deps);
 * const out = await idem(ctx, async () => route.handler(ctx));
 */
import { API_BASE, ApiError, canonicalHash } from '../core/index.js';
import type { IdemKey, IdempotencyLedgerPort } from '../core/index.js';
import type { AppDeps } from './deps.js';
import { apiPath } from './match.js';
import type { HttpResult, RouteCtx } from './route.js';
import { toResponse } from './envelope.js';

declare module './deps.js' {
  interface Services {
    /** The Idempotency-Key ledger and the request's transaction. */
    idempotency: IdempotencyLedgerPort;
  }
}

/** 1-255 printable ASCII characters (CONTRACT §3). */
export const KEY_RE = /^[\x20-\x7e]{1,255}$/;

export function checkKeyFormat(raw: string | undefined, required: boolean): string | undefined {
  if (raw === undefined) {
    if (required) throw new ApiError('IDEMPOTENCY_KEY_REQUIRED', 'Idempotency-Key header is required');
    return undefined;
  }
  if (!KEY_RE.test(raw)) {
    throw new ApiError('VALIDATION_FAILED', 'Idempotency-Key must be 1-255 printable ASCII characters', {
      field: 'header.Idempotency-Key',
    });
  }
  return raw;
}

/** A step of the route pipeline around the handler (`next` runs the rest). */
export type RouteMiddleware = (
  ctx: RouteCtx<unknown, unknown, unknown>,
  next: () => Promise<HttpResult | Response>,
) => Promise<HttpResult | Response>;

/**
 * The idempotency middleware: without a key (`ctx.idempotencyKey`, set on mutating routes) it
 * only runs the handler. With one, it claims the key (a replay answers the recorded response, a
 * key reused with another request 422, one still running 409), and records a 2xx answer in the
 * transaction of the handler's `ctx.commit`, or after the handler when it did not commit.
 */
export function idempotency(deps: AppDeps): RouteMiddleware {
  return async function idempotency(ctx, next) {
    if (ctx.idempotencyKey === undefined) return next();
    const ledger = deps.services.idempotency;
    const key: IdemKey = { tenant: ctx.tenant, method: ctx.hono.req.method, path: API_BASE + apiPath(ctx.hono.req.url), key: ctx.idempotencyKey };
    const claim = await ledger.claim(key, canonicalHash({ query: ctx.query, body: ctx.body ?? null }), deps.clock.now(), deps.config.idempotencyTtlMs);
    if (claim.kind === 'reused') throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key was used with a different request');
    if (claim.kind === 'in_flight') {
      throw new ApiError('IDEMPOTENCY_IN_FLIGHT', 'a request with this Idempotency-Key is still in progress', undefined, {
        retryAfterSeconds: 1,
      });
    }
    if (claim.kind === 'done') {
      // A Response: the pipeline sends it as it is (rate-limit headers added), like before the handler.
      const a = claim.answer;
      return toResponse(ctx.hono, { status: a.status, body: a.body, headers: { ...a.headers, 'Idempotency-Replayed': 'true' } });
    }
    // Recorded only once the transaction has committed: a COMMIT that fails (a full disk)
    // rolls the record back, and the key must then be released like any failed request's.
    let committed = false;
    const commit = ctx.commit.bind(ctx); // a method of the route context (pipeline.ts)
    ctx.commit = async (fn) => {
      const r = await commit(async (tx) => {
        const r = await fn(tx);
        if (r.status < 300) await ledger.complete(key, r, tx);
        return r;
      });
      if (r.status < 300) committed = true;
      return r;
    };
    try {
      const out = await next();
      if (out instanceof Response) await ledger.release(key);
      else if (!committed) {
        if (out.status < 300) await ledger.complete(key, out);
        else await ledger.release(key);
      }
      return out;
    } catch (e) {
      if (!committed) await ledger.release(key);
      throw e;
    }
  };
}
