/**
 * The route table's `rateLimit` policies at the HTTP edge: the limiter (ops/rate-limit.ts) says
 * what the tenant's bucket holds; this file turns that into headers and the 429 answer.
 * Header names follow the IETF httpapi rate-limit draft's fields, `X-` form:
 *
 * - `X-RateLimit-Limit`: the bucket's capacity (the most requests accepted at once);
 * - `X-RateLimit-Remaining`: whole tokens left after this request;
 * - `X-RateLimit-Reset`: whole seconds until the bucket is full again (0 when full);
 * - on refusal, `Retry-After` (set from the error by the envelope): whole seconds (>= 1) until
 *   one token is available.
 */
import type { Context } from 'hono';
import { ApiError } from '../core/index.js';
import type { RateLimitDecision } from '../ops/index.js';
import type { AppDeps } from './deps.js';
import type { RouteDef } from './route.js';

/**
 * The `X-RateLimit-*` headers of a decision.
 *
 * @example
 * rateLimitHeaders({ allowed: true, limit: 10, ratePerSecond: 5, remaining: 9, resetSeconds: 1 })
 * // { 'X-RateLimit-Limit': '10', 'X-RateLimit-Remaining': '9', 'X-RateLimit-Reset': '1' }
 */
export function rateLimitHeaders(d: RateLimitDecision): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(d.limit),
    'X-RateLimit-Remaining': String(d.remaining),
    'X-RateLimit-Reset': String(d.resetSeconds),
  };
}

/**
 * The route's rate limit (after auth + tenant + scope): takes one request from the tenant's
 * bucket, puts its headers on the context (so error responses carry them too) and refuses with
 * 429 RATE_LIMITED + Retry-After when the bucket is empty. Returns the headers for success paths.
 */
export function applyRateLimit(deps: AppDeps, route: RouteDef, c: Context, tenant: string): Record<string, string> | undefined {
  if (!route.rateLimit) return undefined;
  const d = deps.services.rateLimiter!.take(route.rateLimit, tenant);
  const headers = rateLimitHeaders(d);
  for (const [k, v] of Object.entries(headers)) c.header(k, v);
  if (!d.allowed) {
    const retryAfterSeconds = Math.max(1, Math.ceil(d.retryAfterSeconds ?? 1));
    // Its X-RateLimit-* headers are on the context already (set above), the error's answer included.
    throw new ApiError('RATE_LIMITED', 'rate limit exceeded: retry later', { limit: d.limit, ratePerSecond: d.ratePerSecond, retryAfterSeconds }, { retryAfterSeconds });
  }
  return headers;
}
