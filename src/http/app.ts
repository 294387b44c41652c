/**
 * The Hono app: shared middleware once, then every route of the table through one pipeline.
 *
 * @example
 * const app = createApp(deps, allRoutes);
 * serve({ fetch: app.fetch, port: 0 });
 */
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { API_BASE, ApiError } from '../core/index.js';
import type { AppDeps } from './deps.js';
import { errorResponse } from './envelope.js';
import { traceContext, type Trace } from './middleware/trace.js';
import { requestLog } from './middleware/request-log.js';
import { conformant } from './conformance.js';
import { privateCaching } from './middleware/caching.js';
import { routeHandler } from './pipeline.js';
import { apiPath, compileMatcher } from './match.js';
import { honoPath, type RouteDef } from './route.js';

/** What every answer carries: a trace, and the security headers. */
function answering<H extends Hono<any>>(app: H): H {
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
  return app;
}

// Answers given outside routing (see envelopeAnswer): the error passed in, as every error is.
const outside = answering(new Hono<{ Bindings: { error: ApiError } }>());
outside.all('*', (c) => errorResponse(c, c.env.error));

/**
 * The envelope answer of `error` with every header a routed answer has (a new trace, security
 * headers), for answers given outside routing: node:http's own refusals (431, 408, 400).
 */
export async function envelopeAnswer(error: ApiError): Promise<Response> {
  return outside.fetch(new Request('http://localhost/'), { error });
}

export function createApp(deps: AppDeps, routes: readonly RouteDef[]): Hono {
  const app = answering(new Hono());
  app.use('*', requestLog(deps));

  for (const r of routes) {
    const path = API_BASE + honoPath(r.path);
    const routed = routeHandler(deps, r, routes);
    const handler = deps.config.validateResponses ? conformant(r, routed) : routed;
    // An answer to a route that takes a token is never for a shared cache (caching.ts).
    if (r.scope !== null) app.on(r.method, path, privateCaching(), handler);
    else app.on(r.method, path, handler);
  }

  // A path that no route takes: 405 with Allow when it is some route's path, else 404.
  const matchers = routes.map((r) => ({ match: compileMatcher(r, routes), method: r.method }));
  app.notFound((c) => {
    const path = apiPath(c.req.url);
    const allowed = path === undefined ? [] : [...new Set(matchers.filter((m) => m.match(path) !== null).map((m) => m.method))];
    if (allowed.length > 0) {
      return errorResponse(c, new ApiError('METHOD_NOT_ALLOWED', `method ${c.req.method} is not allowed here`, { allowed }));
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
