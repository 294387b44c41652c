/**
 * The Hono app: shared middleware once, then every route of the table through one pipeline.
 *
 * @example
 * const app = createApp(deps, allRoutes);
 * serve({ fetch: app.fetch, port: 0 });
 */
import { Hono, type Context, type Handler } from 'hono';
import { API_BASE, ApiError } from '../core/index.js';
import type { AppDeps } from './deps.js';
import { errorResponse } from './envelope.js';
import type { Trace } from './middleware/trace.js';
import { answering } from './middleware/answer.js';
import { requestLog } from './middleware/request-log.js';
import { conformant } from './conformance.js';
import { routeHandler } from './pipeline.js';
import { apiPath, compileMatcher } from './match.js';
import { honoPath, type RouteDef } from './route.js';

// Answers given outside routing (see envelopeAnswer): the error passed in, as every error is.
const outside = new Hono<{ Bindings: { error: ApiError } }>().use('*', answering());
outside.all('*', (c) => errorResponse(c, c.env.error));

/**
 * The envelope answer of `error` with every header a routed answer has (a new trace, security
 * headers), for answers given outside routing: node:http's own refusals (431, 408, 400).
 */
export async function envelopeAnswer(error: ApiError): Promise<Response> {
  return outside.fetch(new Request('http://localhost/'), { error });
}

export function createApp(deps: AppDeps, routes: readonly RouteDef[]): Hono {
  const app = new Hono();
  // A trace, the security headers, private caching on routes that take a token (answer.ts).
  app.use('*', answering());
  app.use('*', requestLog(deps));

  for (const r of routes) app.on(r.method, API_BASE + honoPath(r.path), routedHandler(deps, r, routes));

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
  app.onError(answerError(deps));
  return app;
}

/** A route's handler: the pipeline, its answers checked when the server validates them (conformance.ts). */
export function routedHandler(deps: AppDeps, route: RouteDef, routes: readonly RouteDef[]): Handler {
  const routed = routeHandler(deps, route, routes);
  return deps.config.validateResponses ? conformant(route, routed) : routed;
}

/** The answer to an error a route threw: its envelope; one that is not an ApiError is logged first. */
export function answerError(deps: AppDeps): (err: unknown, c: Context) => Response {
  return (err, c) => {
    if (!(err instanceof ApiError)) {
      deps.logger.error(
        { err, trace_id: (c.get('trace') as Trace | undefined)?.traceId },
        'unhandled error while serving a request',
      );
    }
    return errorResponse(c, err);
  };
}
