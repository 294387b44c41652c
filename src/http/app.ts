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
import { privateCaching } from './middleware/caching.js';
import { routeHandler } from './pipeline.js';
import { honoPath, type RouteDef } from './route.js';

export const BASE_PATH = '/api/v1/orchestrator';

function pathPattern(path: string): RegExp {
  const re = path
    .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
    .replace(/\\?\{[A-Za-z0-9_]+\\?\}/g, '[^/]+');
  return new RegExp(`^${BASE_PATH.replace(/\//g, '\\/')}${re}$`);
}

export function createApp(deps: AppDeps, routes: readonly RouteDef[]): Hono {
  const app = new Hono();
  app.use('*', traceContext());
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      crossOriginResourcePolicy: 'same-origin',
      // The server speaks plain HTTP; HSTS on it is meaningless, and is the TLS-terminating
      // proxy's to send (docs/ops/TLS.md).
      strictTransportSecurity: false,
      // A handler that sets one of these itself keeps it (the web console's CSP, src/console/).
      overwrite: false,
    }),
  );
  app.use('*', requestLog(deps, routes));

  for (const r of routes) {
    const path = BASE_PATH + honoPath(r.path);
    // An answer to a route that takes a token is never for a shared cache (caching.ts).
    if (r.scope !== null) app.on(r.method, path, privateCaching(), routeHandler(deps, r));
    else app.on(r.method, path, routeHandler(deps, r));
  }

  const patterns = routes.map((r) => ({ re: pathPattern(r.path), method: r.method }));
  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = [...new Set(patterns.filter((p) => p.re.test(path)).map((p) => p.method))];
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
