import { z } from 'zod';
import { ndjsonResponse } from '../../core/index.js';
import { eventExportRecord, type EventRow } from '../../store/events.js';
import type { Store } from '../../store/index.js';
import { defineRoute } from '../route.js';
import { NDJSON } from './common.js';
import { streamRuns } from './stream.js';

/** Every event of a tenant after `since`, in `seq` order, read in batches. */
export function* tenantEvents(store: Store, tenant: string, since: number, batch = 1000): Generator<EventRow> {
  let after = since;
  for (;;) {
    const rows = store.events.since(tenant, after, batch);
    yield* rows;
    if (rows.length < batch) return;
    after = rows[rows.length - 1]!.seq;
  }
}

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
    const rows = tenantEvents(ctx.deps.store, ctx.tenant, ctx.query.since);
    return ndjsonResponse(map(rows, eventExportRecord));
  },
});

function* map<A, B>(it: Iterable<A>, f: (a: A) => B): Generator<B> {
  for (const a of it) yield f(a);
}

/** `/runs/stream` must be registered before `/runs/{runId}`. */
export const eventRoutes = [streamRuns, exportEvents];
