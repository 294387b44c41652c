import { eventExportRecord } from '../store/events.js';
import type { Ports } from '../store/index.js';

/** What an event export reads: the log, and the chain checkpoint of its pruned prefix. */
export type EventExportPorts = Pick<Ports, 'events' | 'retention'>;

/**
 * A tenant's event log after `since`, `seq` ASC, as exported (view + `prevHash`/`hash`),
 * read page by page through the ports so an export of any size streams.
 *
 * @example for await (const e of eventExportRecords(ports, 'demo', 0)) write(e);
 */
export async function* eventExportRecords(ports: Pick<Ports, 'events'>, tenant: string, since: number, batch = 1000) {
  let after = since;
  for (;;) {
    const rows = await ports.events.since(tenant, after, batch);
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
 * @example ndjsonExport(eventExportRecords(ports, t, 0), await eventExportManifest(ports, t, 0))
 */
export async function eventExportManifest(ports: Pick<Ports, 'retention'>, tenant: string, since: number): Promise<(() => Record<string, unknown>) | undefined> {
  const cp = await ports.retention.checkpoint(tenant);
  if (!cp || since > cp.seq) return undefined;
  return () => ({ checkpoint: { hash: cp.hash, seq: cp.seq, tenant } });
}

/**
 * A tenant's event log as exported (`GET /events:export`, `orchestrator export events`): the
 * records after `since` and the manifest extension, read through the ports it is given.
 *
 * @example
 * const { records, manifest } = await new EventExports(ports).export('demo', 0);
 */
export class EventExports {
  constructor(private readonly ports: EventExportPorts) {}

  /** The manifest is decided now (the checkpoint at the request); the records stream lazily. */
  async export(tenant: string, since: number): Promise<{ records: ReturnType<typeof eventExportRecords>; manifest?: () => Record<string, unknown> }> {
    const manifest = await eventExportManifest(this.ports, tenant, since);
    return { records: eventExportRecords(this.ports, tenant, since), manifest };
  }
}
