import { eventExportRecord } from '../store/events.js';
import type { Store } from '../store/index.js';

/**
 * A tenant's event log after `since`, `seq` ASC, as exported (view + `prevHash`/`hash`),
 * read in batches so an export of any size streams.
 *
 * @example for (const e of eventExportRecords(store, 'demo', 0)) write(e);
 */
export function* eventExportRecords(store: Store, tenant: string, since: number, batch = 1000) {
  let after = since;
  for (;;) {
    const rows = store.events.since(tenant, after, batch);
    for (const r of rows) yield eventExportRecord(r);
    if (rows.length < batch) return;
    after = rows[rows.length - 1]!.seq;
  }
}

/**
 * The manifest extension of an event export that starts where the tenant's pruned prefix ends:
 * `checkpoint: {tenant, seq, hash}` (the last pruned event), so `events verify` proves that the
 * first exported event continues the chain. Undefined when nothing was pruned or the export
 * starts later (`since` past the checkpoint).
 *
 * @example ndjsonExport(eventExportRecords(store, t, 0), eventExportManifest(store, t, 0))
 */
export function eventExportManifest(store: Store, tenant: string, since: number): (() => Record<string, unknown>) | undefined {
  const cp = store.events.checkpoint(tenant);
  if (!cp || since > cp.seq) return undefined;
  return () => ({ checkpoint: { hash: cp.hash, seq: cp.seq, tenant } });
}

/**
 * A tenant's event log as exported (`GET /events:export`): the records after `since` and the
 * manifest extension, read through the store this service is given.
 *
 * @example
 * const { records, manifest } = new EventExports(store).export('demo', 0);
 */
export class EventExports {
  constructor(private readonly store: Store) {}

  /** The manifest is decided now (the checkpoint at the request); the records stream lazily. */
  export(tenant: string, since: number): { records: ReturnType<typeof eventExportRecords>; manifest?: () => Record<string, unknown> } {
    const manifest = eventExportManifest(this.store, tenant, since);
    return { records: eventExportRecords(this.store, tenant, since), manifest };
  }
}
