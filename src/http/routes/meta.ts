import { z } from 'zod';
import { VERSION } from '../../core/runtime.js';
import { openApiDocument } from '../openapi.js';
import { defineRoute, type RouteDef } from '../route.js';
import { Obj } from './common.js';

/** The OpenAPI document of whichever table it is given (the app's own). */
export function openApiRoute(table: () => readonly RouteDef[]) {
  let cached: Record<string, unknown> | undefined;
  return defineRoute({
    method: 'GET',
    path: '/openapi.json',
    operationId: 'openApi',
    summary: 'OpenAPI 3.1 document of this API',
    scope: null,
    tenant: false,
    responses: { 200: Obj },
    handler() {
      cached ??= openApiDocument(table(), VERSION);
      return { status: 200, body: cached };
    },
  });
}

export const HealthView = z.object({
  status: z.enum(['ok', 'degraded', 'down']),
  ready: z.boolean(),
});
