/**
 * The route table's vocabulary. Every endpoint is declared once as a {@link RouteDef}; the app,
 * the OpenAPI document and the cross-cutting tests are all built by walking the table, so a
 * rule (auth, tenant, scope, envelope, idempotency, limits, metrics) holds for a route the
 * moment it exists.
 *
 * @example
 * export const getDag = defineRoute({
 *   method: 'GET', path: '/dags/{dagId}/{version}', operationId: 'getDag',
 *   summary: 'Fetch a DAG version', scope: 'read', tenant: true,
 *   params: z.object({ dagId: DagId, version: z.string() }),
 *   responses: { 200: DagVersionView },
 *   handler: async (ctx) => ({ status: 200, body: ctx.deps.dags.get(ctx.tenant, ctx.params) }),
 * });
 */
import { z } from 'zod';
import type { Context } from 'hono';
import type { ErrorCode, TxHandle } from '../core/index.js';
import type { Principal, Scope } from '../auth/index.js';
import type { Audit } from '../events/actor.js';
import type { AppDeps } from './deps.js';
import type { JsonParts } from './json-parts.js';
import type { RateLimiter, RateLimitPolicy } from '../ops/index.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What a handler returns: JSON body (or a raw Response for streams and artifacts). */
export interface HttpResult {
  status: number;
  body?: unknown;
  /** The JSON body already serialized (`JSON.stringify` of what `body` would be, its UTF-8 bytes, or their parts), in place of `body`. */
  json?: string | Uint8Array | JsonParts;
  /** With `json`: what the answer is about (its runId, dagId, …) for the request log, read from `body` otherwise. */
  about?: object;
  headers?: Record<string, string>;
}

export interface RouteCtx<P, Q, B> {
  deps: AppDeps;
  /** The caller's tenant (validated against the token); '' on routes without a tenant. */
  tenant: string;
  /** The token's tenants (for /admin/*), '*' for all. */
  tenants: '*' | string[];
  scopes: ReadonlySet<Scope>;
  /** The verified caller; undefined on routes without auth (or optional auth, no token). */
  principal?: Principal;
  /**
   * Who is asking and this request's trace, for the audit trail (docs/API.md "Actors"): the
   * token's `sub` ('' without a token). Every event a mutating request causes carries it.
   */
  audit: Audit;
  params: P;
  query: Q;
  body: B;
  traceId: string;
  /** Idempotency-Key of this request, if any. */
  idempotencyKey?: string;
  /**
   * Runs `fn` in one store transaction (`tx`, opaque here: `core/tx.ts`) and resolves with its
   * answer; when the request carries an Idempotency-Key, a 2xx answer is recorded in that same
   * transaction. On SQLite `fn` may await only the `tx` ports. Most handlers call it through
   * `answered` (answers.ts).
   */
  commit(fn: (tx: TxHandle) => Promise<HttpResult>): Promise<HttpResult>;
  hono: Context;
  signal: AbortSignal;
}

export interface RouteDef<P = any, Q = any, B = any> {
  method: Method;
  /** OpenAPI form, relative to the base path: `/runs/{runId}:cancel`. */
  path: string;
  operationId: string;
  summary: string;
  /** Scope required; null = no authentication (probes, OpenAPI). */
  scope: Scope | null;
  /** Requires `X-Stella-Tenant` (all but /admin/* and /openapi.json). */
  tenant: boolean;
  /** Writes that free space (retention, collection): allowed below `--disk-min-free`. */
  freesSpace?: boolean;
  /**
   * Also accepts the installation's static scrape token (`--metrics-token-file`) instead of a
   * JWT; such a caller has no scope and sees every tenant (docs/AUTH.md). Metrics only.
   */
  scrapeToken?: boolean;
  /** Auth is optional: a token adds detail but is not required (health). */
  authOptional?: boolean;
  /**
   * A named rate-limit policy (per tenant token bucket), applied by the pipeline right after
   * auth + tenant + scope; its `X-RateLimit-*` headers go on every response from then on, and
   * an empty bucket is 429 `RATE_LIMITED` with `Retry-After` (see docs/OPS.md).
   */
  rateLimit?: RateLimitPolicy;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /**
   * Request headers the handler reads (besides the pipeline's own: Authorization,
   * X-Stella-Tenant, Idempotency-Key, traceparent), validated and documented: an object schema
   * keyed by header name as documented (`Last-Event-ID`); a bad value is 400 naming it.
   */
  headers?: z.ZodType;
  /**
   * Error codes the handler itself answers. Those of the pipeline follow from the route's other
   * fields (see `routeErrors`); the document lists both per operation, and a server that
   * validates its answers (tests) refuses to answer an undeclared one.
   */
  errors?: readonly ErrorCode[];
  /** The body is signed (a DSSE `signature`), which is required unless the server runs with `--allow-unsigned`. */
  signed?: boolean;
  /** Body limit in bytes; default the server's (1 MiB). */
  bodyLimit?: 'default' | 'dagPublish';
  /**
   * Success responses by status: a zod schema (JSON; name it with `component` to share it), or a
   * media type for other bodies. A `description` on the schema (`.meta({ description })`)
   * describes the response.
   */
  responses: Record<number, z.ZodType | JsonResponse | MediaResponse>;
  handler(ctx: RouteCtx<P, Q, B>): Promise<HttpResult | Response> | HttpResult | Response;
}

/**
 * A JSON response with a description of its own (a bare schema is described by its status),
 * and the names of the documented response headers it carries beyond the pipeline's.
 */
export interface JsonResponse {
  schema: z.ZodType;
  description: string;
  headers?: readonly ResponseHeader[];
}

/** A non-JSON response body (NDJSON exports, metrics text, artifact bytes, an upgrade). */
export interface MediaResponse {
  mediaType: string;
  description: string;
  headers?: readonly ResponseHeader[];
}

/** Response headers a route sets itself (the pipeline's own are documented by rule). */
export type ResponseHeader = 'ETag' | 'Cache-Control' | 'Last-Event-ID';

/** The JSON schema of a declared response, if it is JSON. */
export function jsonSchemaOf(r: z.ZodType | JsonResponse | MediaResponse | undefined): z.ZodType | undefined {
  if (r === undefined || r instanceof z.ZodType) return r;
  return 'schema' in r ? r.schema : undefined;
}

declare module './deps.js' {
  interface Services {
    /** Required as soon as one route declares `rateLimit`. */
    rateLimiter?: RateLimiter;
  }
}

export function defineRoute<P, Q, B>(def: RouteDef<P, Q, B>): RouteDef<P, Q, B> {
  return def;
}

/**
 * A mutating request is any but GET (POST, PUT, DELETE), decided by the method alone so that no
 * route can forget it: it honours Idempotency-Key and is refused while the server drains.
 */
export function isMutating(route: Pick<RouteDef, 'method'>): boolean {
  return route.method !== 'GET';
}

const notFoundMessages = new WeakMap<z.ZodType, string>();

/**
 * A path parameter's schema (its pattern is documented), with the 404 message answered when a
 * value does not fit it — the same answer as a well-formed id that does not exist, so that no id
 * can be probed by its form.
 *
 * @example const RunId = pathParam(z.string().regex(UUID_V7_RE), 'run not found');
 */
export function pathParam<T extends z.ZodType>(schema: T, notFound: string): T {
  notFoundMessages.set(schema, notFound);
  return schema;
}

/** The 404 message of a path parameter of `route` ('no such resource' unless declared). */
export function paramNotFound(route: RouteDef, name: string): string {
  const shape = (route.params as { shape?: Record<string, z.ZodType> } | undefined)?.shape;
  const schema = shape?.[name];
  return (schema && notFoundMessages.get(schema)) ?? 'no such resource';
}

const PARAM = /\{([A-Za-z0-9_]+)\}(:[a-z]+)?/g;

/**
 * Converts the OpenAPI path to Hono's, with custom methods (`:cancel`) as a regex suffix. Hono
 * only dispatches; which route a path really belongs to is decided by `compileMatcher`.
 */
export function honoPath(path: string): string {
  return path.replace(PARAM, (_m, name: string, verb?: string) =>
    verb ? `:${name}{[^/]+${verb}}` : `:${name}`,
  );
}
