/**
 * The Hono app: shared middleware once, then every route of the table through one pipeline.
 *
 * @example
 * const app = createApp(deps, allRoutes);
 * serve({ fetch: app.fetch, port: 0 });
 */
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { ApiError } from '../core/index.js';
import type { AppDeps } from './deps.js';
import { errorResponse } from './envelope.js';
import { traceContext, type Trace } from './middleware/trace.js';
import { requestLog } from './middleware/request-log.js';
import { routeHandler } from './pipeline.js';
import { apiPath, compileMatcher } from './match.js';
import { BASE_PATH, honoPath, type RouteDef } from './route.js';

export { BASE_PATH };

export function createApp(deps: AppDeps, routes: readonly RouteDef[]): Hono {
  const app = new Hono();
  app.use('*', traceContext());
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      crossOriginResourcePolicy: 'same-origin',
    }),
  );
  app.use('*', requestLog(deps));

  for (const r of routes) {
    app.on(r.method, BASE_PATH + honoPath(r.path), routeHandler(deps, r, routes));
  }

  // A path that no route takes: 405 with Allow when it is some route's path, else 404.
  const matchers = routes.map((r) => ({ match: compileMatcher(r, routes), method: r.method }));
  app.notFound((c) => {
    const path = apiPath(c.req.url);
    const allowed = path === undefined ? [] : [...new Set(matchers.filter((m) => m.match(path) !== null).map((m) => m.method))];
    if (allowed.length > 0) {
      const res = errorResponse(
        c,
        new ApiError('METHOD_NOT_ALLOWED', `method ${c.req.method} is not allowed here`, { allowed }),
      );
      res.headers.set('Allow', allowed.join(', '));
      return res;
    }
    return errorResponse(c, new ApiError('NOT_FOUND', 'no such resource'));
  });
  app.onError((err, c) => {
    if (!(err instanceof ApiError)) {
      deps.logger.error(
        { err, trace_id: (c.get('trace') as Trace | undefined)?.traceId },
        'unhandled error while serving a request',
      );
    }
    return errorResponse(c, err);
  });
  return app;
}
