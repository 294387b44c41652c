import type { RouteDef } from '../route.js';
import { adminRoutes } from './admin.js';
import { lifecycleRoutes } from './admin-lifecycle.js';
import { artifactRoutes } from './artifacts.js';
import { dagRoutes } from './dags.js';
import { eventRoutes } from './events.js';
import { openApiRoute } from './meta.js';
import { runRoutes } from './runs.js';
import { scheduleRoutes } from './schedules.js';

/**
 * The route table: every endpoint of the API, in registration order. Hono tries routes in
 * this order, so literal paths under `/runs/` (the event stream) must come before
 * `runRoutes`, whose `/runs/{runId}` would otherwise take them (and answer 404).
 */
export function routeTable(extra: readonly RouteDef[] = []): RouteDef[] {
  const table: RouteDef[] = [];
  table.push(openApiRoute(() => table), ...dagRoutes, ...adminRoutes, ...lifecycleRoutes, ...eventRoutes, ...runRoutes, ...scheduleRoutes, ...artifactRoutes, ...extra);
  return table;
}
