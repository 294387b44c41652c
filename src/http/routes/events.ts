import { z } from 'zod';
import { ndjsonResponse } from '../../core/index.js';
import { eventExportManifest, eventExportRecords } from '../../events/export.js';
import { defineRoute } from '../route.js';
import { NDJSON } from './common.js';
import { streamRuns } from './stream.js';

export const exportEvents = defineRoute({
  method: 'GET',
  path: '/events:export',
  operationId: 'exportEvents',
  summary:
    'Export the event log (seq ASC, with prevHash/hash chain) as NDJSON with a manifest line; when retention pruned the start of the log, the manifest carries the chain checkpoint {tenant, seq, hash} the first event continues from',
  scope: 'orchestrator:read',
  tenant: true,
  query: z.object({ since: z.coerce.number().int().min(0).default(0) }).strict(),
  responses: { 200: NDJSON },
  handler(ctx) {
    const { store } = ctx.deps;
    return ndjsonResponse(eventExportRecords(store, ctx.tenant, ctx.query.since), {}, eventExportManifest(store, ctx.tenant, ctx.query.since));
  },
});

/** `/runs/stream` must be registered before `/runs/{runId}`. */
export const eventRoutes = [streamRuns, exportEvents];
