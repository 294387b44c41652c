import type { MiddlewareHandler } from 'hono';
import type { AppDeps } from '../deps.js';
import { AUDIT_FIELDS, ROUTE_TEMPLATE } from '../pipeline.js';
import type { Trace } from './trace.js';

/**
 * For handlers outside the route table (the web console): records the template that names the
 * request in the log and the metrics, as the pipeline does for the table's routes.
 *
 * @example app.get('/console/assets/:file', namedRoute('/console/assets/{file}'), handler);
 */
export function namedRoute(template: string): MiddlewareHandler {
  return async function namedRoute(c, next) {
    c.set(ROUTE_TEMPLATE, template);
    await next();
  };
}

/**
 * One structured log line per request (trace id, route template, status, time; the tenant,
 * the token's `sub` and the runId/dagId/version/scheduleId it was about, when known) and the
 * metrics observation. Headers are never logged, so `Authorization` cannot leak.
 *
 * The route label is the template of the route that served the request (recorded by the
 * pipeline), or `unmatched` (404, 405, and paths no route takes).
 *
 * @example app.use('*', requestLog(deps));
 */
export function requestLog(deps: AppDeps): MiddlewareHandler {
  return async function requestLog(c, next) {
    const start = process.hrtime.bigint();
    await next();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const route = (c.get(ROUTE_TEMPLATE) as string | undefined) ?? 'unmatched';
    const status = c.res.status;
    deps.observe?.(route, c.req.method, status, seconds);
    if (status < 500 && deps.logger.isLevelEnabled?.('info') === false) return; // the line would be dropped
    const trace = c.get('trace') as Trace | undefined;
    const line = {
      trace_id: trace?.traceId,
      method: c.req.method,
      route,
      status,
      ms: Math.round(seconds * 1e6) / 1e3,
      ...(c.get(AUDIT_FIELDS) as Record<string, string> | undefined),
    };
    if (status >= 500) deps.logger.error(line, 'request');
    else deps.logger.info(line, 'request');
  };
}
