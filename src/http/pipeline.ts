/**
 * Turns a {@link RouteDef} into a Hono handler that applies, in order: authentication,
 * tenant, scope, parameter/query/body validation, idempotency, the handler, and the error
 * envelope. Written once; every route goes through it.
 */
import type { Context, Handler } from 'hono';
import { z } from 'zod';
import { ApiError, TENANT_RE, type TxHandle } from '../core/index.js';
import { readBodyLimited, parseJsonBody, validate } from './body.js';
import { checkKeyFormat, idempotency } from './idempotency.js';
import { toResponse } from './envelope.js';
import type { AppDeps } from './deps.js';
import { hasScope, tenantAllowed, type Principal, type RejectReason, type Scope } from '../auth/index.js';
import { isMutating, paramNotFound, type HttpResult, type RouteCtx, type RouteDef } from './route.js';
import { apiPath, compileMatcher } from './match.js';
import { parseQuery } from './query.js';
import type { Trace } from './middleware/trace.js';
import type { Audit } from '../events/actor.js';
import { checkDiskFloor } from './middleware/disk.js';
import { applyRateLimit } from './rate-limit.js';
import { markPrivate } from './middleware/answer.js';

/** The context key under which the pipeline records the route template it serves (metrics, logs). */
export const ROUTE_TEMPLATE = 'routeTemplate';

/**
 * The context key of what the request log names besides the route (docs/API.md "Actors"): the tenant,
 * the token's `sub`, and the run, DAG or schedule the request is about (from its path, else
 * from its answer).
 */
export const AUDIT_FIELDS = 'auditFields';

/** The ids a request is about, from its path parameters or its answer's body. */
function aboutIds(source: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (source === null || typeof source !== 'object' || Array.isArray(source)) return out;
  for (const k of ['runId', 'dagId', 'version', 'scheduleId'] as const) {
    const v = (source as Record<string, unknown>)[k];
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/** Records the fields not recorded yet (the first value of a field stays). */
function noteAudit(c: Context, fields: Record<string, string | undefined>): void {
  let audit = c.get(AUDIT_FIELDS) as Record<string, string> | undefined;
  if (audit === undefined) c.set(AUDIT_FIELDS, (audit = {}));
  for (const k in fields) {
    const v = fields[k];
    if (v && audit[k] === undefined) audit[k] = v;
  }
}

/**
 * The caller of a route that takes the static scrape token (`--metrics-token-file`): every
 * tenant's series, and no scope (the route itself is the only thing the token opens).
 */
const SCRAPER: Principal = { subject: 'metrics-token', scopes: new Set(), tenants: '*', expiresAt: Number.MAX_SAFE_INTEGER };

/**
 * A refused token is logged with its reason (expired, wrong aud, unknown kid…) for the
 * operator; the client's answer stays the generic 401. No token content but the header's kid/alg.
 */
function logRejected(deps: AppDeps, route: RouteDef, c: Context, e: unknown): void {
  if (!(e instanceof ApiError) || e.code !== 'UNAUTHENTICATED') return;
  const why = (e as ApiError & { logReason?: RejectReason }).logReason ?? { reason: e.message };
  const trace = c.get('trace') as Trace | undefined;
  deps.logger.warn({ trace_id: trace?.traceId, method: route.method, route: route.path, ...why }, 'token rejected');
}

/** Checks authentication, tenant and scope for a route, in the contract's order. */
async function authorize(
  deps: AppDeps,
  route: RouteDef,
  c: Context,
): Promise<{ principal?: Principal; tenant: string }> {
  if (route.scope === null) return { tenant: '' };
  const header = c.req.header('authorization');
  if (route.authOptional && header === undefined) return { tenant: '' };
  if (route.scrapeToken && deps.scrapeToken?.matches(header)) return { principal: SCRAPER, tenant: '' };
  let principal: Principal;
  try {
    principal = await deps.auth.verify(header);
  } catch (e) {
    logRejected(deps, route, c, e);
    throw e;
  }
  let tenant = '';
  if (route.tenant) {
    const raw = c.req.header('x-stella-tenant');
    if (raw === undefined || raw === '') throw new ApiError('TENANT_REQUIRED', 'X-Stella-Tenant header is required');
    if (!TENANT_RE.test(raw) || !tenantAllowed(principal, raw)) {
      throw new ApiError('TENANT_FORBIDDEN', 'the token does not allow this tenant');
    }
    tenant = raw;
  }
  if (!hasScope(principal, route.scope)) {
    throw new ApiError('INSUFFICIENT_SCOPE', `this operation requires ${route.scope}`, { required: route.scope });
  }
  return { principal, tenant };
}

/** The request's values of the headers a route declares, keyed as declared. */
function requestHeaders(schema: z.ZodType, c: Context): Record<string, string | undefined> {
  const names = schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
  return Object.fromEntries(names.map((n) => [n, c.req.header(n)]));
}

/** Path parameters: a value that does not fit its schema names nothing (404, never 400). */
function pathParams(route: RouteDef, raw: Record<string, string>): unknown {
  if (!route.params) return raw;
  const r = route.params.safeParse(raw);
  if (r.success) return r.data;
  throw new ApiError('NOT_FOUND', paramNotFound(route, String(r.error.issues[0]?.path[0] ?? '')));
}

/**
 * What a route's handler gets ({@link RouteCtx}). A class, not an object literal: a literal's
 * `get signal()` is a new accessor on every request, and V8 keeps an accessor in the object's
 * hidden class, so each request made a hidden class of its own. A hidden class lives in the old
 * generation until a mark-compact, and through the getter's closure it kept the whole request
 * (node's request and response, the context, the answer: ≈ 5 KB) alive past every scavenge;
 * the young generation's survivors made the read routes' GC pauses (issue #20, BENCHMARKS.md).
 */
class RouteContext implements RouteCtx<unknown, unknown, unknown> {
  tenants: '*' | string[];
  scopes: ReadonlySet<Scope>;
  audit: Audit;
  constructor(
    public deps: AppDeps,
    public tenant: string,
    public principal: Principal | undefined,
    public traceId: string,
    public params: unknown,
    public query: unknown,
    public body: unknown,
    public idempotencyKey: string | undefined,
    public hono: Context,
  ) {
    this.tenants = principal?.tenants ?? [];
    this.scopes = principal?.scopes ?? new Set();
    this.audit = { actor: principal?.subject ?? '', traceId };
  }

  /** Made when a handler asks (most never do). */
  get signal(): AbortSignal {
    return this.hono.req.raw.signal;
  }

  commit(fn: (tx: TxHandle) => Promise<HttpResult>): Promise<HttpResult> {
    return this.deps.services.idempotency.transaction(fn);
  }
}

export function routeHandler(deps: AppDeps, route: RouteDef, routes: readonly RouteDef[]): Handler {
  const match = compileMatcher(route, routes);
  if (route.rateLimit && !deps.services.rateLimiter) {
    throw new Error(`route ${route.method} ${route.path} declares rateLimit '${route.rateLimit}' but no rate limiter is configured`);
  }
  const idem = idempotency(deps);
  const takesToken = route.scope !== null;
  return async function routeHandler(c, next) {
    // Every answer given here, errors and the 404/405 of a path that is not this route's after
    // all included, is private when the route takes a token (middleware/answer.ts).
    if (takesToken) markPrivate(c);
    // Not this route's path after all (Hono only dispatched by shape): let the next route, or
    // the 404/405 answer, have it.
    const path = apiPath(c.req.url);
    const rawParams = path === undefined ? null : match(path);
    if (rawParams === null) return next();
    c.set(ROUTE_TEMPLATE, route.path);
    const trace = c.get('trace') as Trace;
    if (route.scope !== null && !route.authOptional) {
      const { ready, draining } = deps.lifecycle;
      if (!ready || (draining && isMutating(route))) {
        throw new ApiError('UNAVAILABLE', draining ? 'the server is shutting down' : 'the server is starting', undefined, {
          retryAfterSeconds: 1,
        });
      }
    }
    const { principal, tenant } = await authorize(deps, route, c);
    noteAudit(c, { tenant: tenant || undefined, sub: principal?.subject });
    applyRateLimit(deps, route, c, tenant);
    checkDiskFloor(deps, route);

    const idemKey = isMutating(route)
      ? checkKeyFormat(c.req.header('idempotency-key'), deps.config.requireIdempotencyKey)
      : undefined;

    const params = pathParams(route, rawParams);
    noteAudit(c, aboutIds(params));
    if (route.headers) validate(route.headers, requestHeaders(route.headers, c), 'header');
    const query = route.query ? validate(route.query, parseQuery(route.query, c.req.queries()), 'query') : {};
    let body: unknown = undefined;
    if (route.method === 'POST' || route.method === 'PUT') {
      const limit = route.bodyLimit === 'dagPublish' ? deps.config.dagBodyLimitBytes : deps.config.bodyLimitBytes;
      const bytes = await readBodyLimited(c.req.raw, limit);
      if (route.body) body = parseJsonBody(bytes, c.req.header('content-type'), route.body, deps.config.maxJsonDepth);
    }

    const ctx = new RouteContext(deps, tenant, principal, trace.traceId, params, query, body, idemKey, c);
    const out = await idem(ctx, async () => route.handler(ctx));
    if (out instanceof Response) return out; // its headers are added after the handler (middleware/answer.ts)
    noteAudit(c, aboutIds(out.about ?? out.body));
    return toResponse(c, out);
  };
}
