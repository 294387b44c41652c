import type { RouteDef } from '../route.js';
import { dagRoutes } from './dags.js';
import { openApiRoute } from './meta.js';

/** The route table: every endpoint of the API, in registration order. */
export function routeTable(extra: readonly RouteDef[] = []): RouteDef[] {
  const table: RouteDef[] = [];
  table.push(openApiRoute(() => table), ...dagRoutes, ...extra);
  return table;
}
