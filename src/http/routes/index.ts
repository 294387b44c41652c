import type { RouteDef } from '../route.js';
import { adminRoutes } from './admin.js';
import { dagRoutes } from './dags.js';
import { openApiRoute } from './meta.js';

/** The route table: every endpoint of the API, in registration order. */
export function routeTable(extra: readonly RouteDef[] = []): RouteDef[] {
  const table: RouteDef[] = [];
  table.push(openApiRoute(() => table), ...dagRoutes, ...adminRoutes, ...extra);
  return table;
}
