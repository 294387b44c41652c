/**
 * Every error code a route can answer, derived once from what it declares: the pipeline's own
 * (authentication, tenant, scope, readiness, rate limit, Idempotency-Key, validation, body
 * limits, page tokens) follow from its fields, the handler's are listed in `errors`. The OpenAPI
 * document lists them per operation; a server that validates its answers (every test server)
 * turns an undeclared one into a 500, so the list cannot drift.
 *
 * @example
 * routeErrors(getRun) // ['UNAUTHENTICATED', 'TENANT_REQUIRED', …, 'NOT_FOUND', 'INTERNAL']
 */
import { z } from 'zod';
import type { ErrorCode } from '../core/index.js';
import { ERROR_STATUS } from './errors.js';
import { isMutating, type RouteDef } from './route.js';

function queryHas(route: RouteDef, key: string): boolean {
  return route.query instanceof z.ZodObject && key in route.query.shape;
}

export function routeErrors(route: RouteDef): ErrorCode[] {
  const codes = new Set<ErrorCode>();
  const add = (...c: ErrorCode[]) => c.forEach((x) => codes.add(x));
  if (route.scope !== null) {
    add('UNAUTHENTICATED', 'INSUFFICIENT_SCOPE');
    if (!route.authOptional) add('UNAVAILABLE'); // starting; POSTs while draining
  }
  if (route.tenant) add('TENANT_REQUIRED', 'TENANT_FORBIDDEN');
  if (route.rateLimit) add('RATE_LIMITED');
  if (route.params) add('NOT_FOUND');
  if (route.query || route.body || route.headers) add('VALIDATION_FAILED');
  if (queryHas(route, 'page_token')) add('INVALID_PAGE_TOKEN');
  if (route.method === 'POST' || route.method === 'PUT') add('VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE');
  // Every write, DELETE included, meets the disk floor (middleware/disk.ts) and Idempotency-Key.
  if (isMutating(route)) add('INSUFFICIENT_STORAGE', 'VALIDATION_FAILED', 'IDEMPOTENCY_KEY_REQUIRED', 'IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_IN_FLIGHT');
  add(...(route.errors ?? []), 'INTERNAL');
  return [...codes].sort((a, b) => ERROR_STATUS[a] - ERROR_STATUS[b] || a.localeCompare(b));
}
