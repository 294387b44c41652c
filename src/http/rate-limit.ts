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
import { addAnswerHeaders } from './middleware/answer.js';

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
 * bucket, puts its headers on every answer to the request (errors too: middleware/answer.ts) and refuses with
 * 429 RATE_LIMITED + Retry-After when the bucket is empty.
 */
export function applyRateLimit(deps: AppDeps, route: RouteDef, c: Context, tenant: string): void {
  if (!route.rateLimit) return;
  const d = deps.services.rateLimiter!.take(route.rateLimit, tenant);
  const headers = rateLimitHeaders(d);
  addAnswerHeaders(c, headers);
  if (!d.allowed) {
    const retryAfterSeconds = Math.max(1, Math.ceil(d.retryAfterSeconds ?? 1));
    // Its X-RateLimit-* headers are on every answer already (added above), the error's included.
    throw new ApiError('RATE_LIMITED', 'rate limit exceeded: retry later', { limit: d.limit, ratePerSecond: d.ratePerSecond, retryAfterSeconds }, { retryAfterSeconds });
  }
}
