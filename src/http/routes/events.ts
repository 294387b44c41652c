import { z } from 'zod';
import { ndjsonResponse } from '../../core/index.js';
import { eventExportRecords } from '../../events/export.js';
import { defineRoute } from '../route.js';
import { NDJSON } from './common.js';
import { streamRuns } from './stream.js';

export const exportEvents = defineRoute({
  method: 'GET',
  path: '/events:export',
  operationId: 'exportEvents',
  summary: 'Export the event log (seq ASC, with prevHash/hash chain) as NDJSON with a manifest line',
  scope: 'orchestrator:read',
  tenant: true,
  query: z.object({ since: z.coerce.number().int().min(0).default(0) }).strict(),
  responses: { 200: NDJSON },
  handler(ctx) {
    return ndjsonResponse(eventExportRecords(ctx.deps.store, ctx.tenant, ctx.query.since));
  },
});

/** `/runs/stream` must be registered before `/runs/{runId}`. */
export const eventRoutes = [streamRuns, exportEvents];
