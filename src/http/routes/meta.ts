import { z } from 'zod';
import { VERSION } from '../../core/runtime.js';
import { openApiDocument } from '../openapi.js';
import { defineRoute, type RouteDef } from '../route.js';
import { component } from '../components.js';

const OpenApiDocument = component('OpenApiDocument', z.object({ openapi: z.string() }).catchall(z.unknown()));

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
    responses: { 200: OpenApiDocument },
    handler(ctx) {
      cached ??= openApiDocument(table(), { version: VERSION, allowUnsigned: ctx.deps.config.allowUnsigned ?? false });
      return { status: 200, body: cached };
    },
  });
}

export const HealthView = z.strictObject({
  status: z.enum(['ok', 'degraded', 'down']),
  ready: z.boolean(),
});
