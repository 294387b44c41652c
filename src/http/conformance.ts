/**
 * A server started with `validateResponses` (every test server) checks each answer against the
 * route's declaration before it leaves: a documented status, a JSON body that parses with the
 * declared response schema, an error code the route declares (`routeErrors`). A mismatch is
 * answered as 500 INTERNAL naming it, so the whole test suite keeps the OpenAPI document (made
 * from the same declarations) true. Off in production.
 *
 * @example
 * const handler = conformant(route, routeHandler(deps, route, routes));
 */
import type { Handler } from 'hono';
import { ApiError } from '../core/index.js';
import { ROUTE_TEMPLATE } from './pipeline.js';
import { routeErrors } from './route-errors.js';
import { jsonSchemaOf, type RouteDef } from './route.js';
import { answerJson } from './middleware/answer.js';

function violation(route: RouteDef, what: string, details?: Record<string, unknown>): ApiError {
  return new ApiError('INTERNAL', `${route.method} ${route.path}: ${what}`, { conformance: true, ...details });
}

async function checkAnswer(route: RouteDef, res: Response): Promise<void> {
  if (res.status >= 400 && route.responses[res.status] === undefined) {
    const body = (await answerJson(res).catch(() => undefined)) as { error?: { code?: string } } | undefined;
    const code = body?.error?.code;
    if (!code || !routeErrors(route).includes(code as never)) throw violation(route, `undeclared error ${code ?? res.status}`);
    return;
  }
  const declared = route.responses[res.status];
  if (declared === undefined) throw violation(route, `undeclared status ${res.status}`);
  const schema = jsonSchemaOf(declared);
  if (!schema || res.status === 204) return;
  const r = schema.safeParse(await answerJson(res));
  if (!r.success) {
    throw violation(route, `the ${res.status} body does not match its schema`, {
      issues: r.error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
}

/** Wraps a route's handler so that every answer it gives is checked (see the module doc). */
export function conformant(route: RouteDef, handler: Handler): Handler {
  return async (c, next) => {
    let res: Response | void;
    try {
      res = await handler(c, next);
    } catch (e) {
      if (e instanceof ApiError && !routeErrors(route).includes(e.code)) throw violation(route, `undeclared error ${e.code}: ${e.message}`);
      throw e;
    }
    if (res instanceof Response && c.get(ROUTE_TEMPLATE) === route.path) await checkAnswer(route, res);
    return res;
  };
}
