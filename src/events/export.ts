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
