import { z } from 'zod';
import { ndjsonResponse } from '../ndjson.js';
import type { EventExports } from '../../events/index.js';
import { defineRoute } from '../route.js';
import { NDJSON } from './common.js';
import { streamRuns } from './stream.js';

declare module '../deps.js' {
  interface Services {
    events: EventExports;
  }
}

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
  async handler(ctx) {
    const { records, manifest } = await ctx.deps.services.events.export(ctx.tenant, ctx.query.since);
    return ndjsonResponse(records, {}, manifest);
  },
});

/** `/runs/stream` must be registered before `/runs/{runId}`. */
export const eventRoutes = [streamRuns, exportEvents];
