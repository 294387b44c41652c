/**
 * The live event stream's wiring: the hub reads the event log from the store and is fed every
 * committed batch the scheduler announces (views are made only while some stream is open).
 *
 * @example
 * const hub = eventHub(store, scheduler.events, config.maxStreams);
 */
import { EventHub } from '../events/index.js';
import { eventView, type EventRow } from '../store/events.js';
import type { Store } from '../store/index.js';

/** Where committed event batches are announced (the scheduler's `events`). */
export interface CommittedFeed {
  on(event: 'committed', listener: (rows: EventRow[]) => void): unknown;
  off(event: 'committed', listener: (rows: EventRow[]) => void): unknown;
}

export function eventHub(store: Store, committed: CommittedFeed, maxStreamsPerTenant: number): EventHub {
  const hub: EventHub = new EventHub({
    log: {
      after: (tenant, seq, limit) => store.events.since(tenant, seq, limit).map(eventView),
      lastSeq: (tenant) => store.events.head(tenant).seq,
    },
    feed: {
      subscribe(listener) {
        // Views are made only while some stream is open: the hot path pays nothing otherwise.
        const onCommitted = (rows: readonly EventRow[]) => {
          if (hub.openStreams() > 0) listener(rows.map(eventView));
        };
        committed.on('committed', onCommitted);
        return () => committed.off('committed', onCommitted);
      },
    },
    maxStreamsPerTenant,
  });
  return hub;
}
