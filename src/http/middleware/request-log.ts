import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppDeps } from '../deps.js';
import type { RouteDef } from '../route.js';
import type { Trace } from './trace.js';

/**
 * One structured log line per request (trace id, route template, status, time) and the
 * metrics observation. Headers are never logged, so `Authorization` cannot leak.
 *
 * @example app.use('*', requestLog(deps, routes));
 */
export function requestLog(deps: AppDeps, routes: readonly RouteDef[]): MiddlewareHandler {
  const templates = new Map(routes.map((r) => [r.method + ' ' + r.path, r.path]));
  const cache = new Map<string, string>();
  return async function requestLog(c, next) {
    const start = process.hrtime.bigint();
    await next();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    let matched = routePath(c);
    if (!matched || matched === '*' || matched === '/*') matched = 'unmatched';
    const route = templateOf(matched, c.req.method, templates, cache);
    const status = c.res.status;
    deps.observe?.(route, c.req.method, status, seconds);
    const trace = c.get('trace') as Trace | undefined;
    const line = {
      trace_id: trace?.traceId,
      method: c.req.method,
      route,
      status,
      ms: Math.round(seconds * 1e6) / 1e3,
    };
    if (status >= 500) deps.logger.error(line, 'request');
    else deps.logger.info(line, 'request');
  };
}

/** Maps Hono's registered path back to the route table's template (bounded metric labels). */
/** Computed once per (method, Hono route): the request path never enters the key. */
function templateOf(honoRoute: string, method: string, templates: Map<string, string>, cache: Map<string, string>): string {
  const key = method + ' ' + honoRoute;
  let t = cache.get(key);
  if (t === undefined) {
    t = computeTemplate(honoRoute, method, templates);
    if (cache.size < 1000) cache.set(key, t);
  }
  return t;
}

function computeTemplate(honoRoute: string, method: string, templates: Map<string, string>): string {
  const openapi = honoRoute
    .replace(/^\/api\/v1\/orchestrator/, '')
    .replace(/:([A-Za-z0-9_]+)\{\[\^\/\]\+(:[a-z]+)\}/g, '{$1}$2')
    .replace(/\/:([A-Za-z0-9_]+)/g, '/{$1}'); // only segment starts: `{version}:disable` keeps its verb
  return templates.get(method + ' ' + openapi) ?? (honoRoute === 'unmatched' ? 'unmatched' : openapi);
}
