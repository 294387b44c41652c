/**
 * The live event stream's wiring: the hub reads the event log through the ports, is fed every
 * batch this node's scheduler commits (views are made only while some stream is open), and is
 * woken by other nodes' commits (`ports.watchEvents`: PostgreSQL's LISTEN/NOTIFY; the embedded
 * store's watch never fires).
 *
 * @example
 * const hub = eventHub(ports, scheduler.events, config.maxStreams, logger);
 */
import { EventHub } from '../events/index.js';
import { eventView, type EventRow } from '../store/events.js';
import type { EventWatch, StorePorts } from '../store/index.js';
import type { Logger } from 'pino';

/** Where committed event batches are announced (the scheduler's `events`). */
export interface CommittedFeed {
  on(event: 'committed', listener: (rows: EventRow[]) => void): unknown;
  off(event: 'committed', listener: (rows: EventRow[]) => void): unknown;
}

export function eventHub(ports: StorePorts, committed: CommittedFeed, maxStreamsPerTenant: number, logger?: Pick<Logger, 'warn'>): EventHub {
  const hub: EventHub = new EventHub({
    log: {
      after: async (tenant, seq, limit) => (await ports.events.since(tenant, seq, limit)).map(eventView),
      lastSeq: async (tenant) => (await ports.events.head(tenant)).seq,
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
  watchOtherNodes(ports, hub, logger);
  return hub;
}

const RETRY_MS = [500, 1000, 2000, 5000];

/**
 * Wakes the hub when other nodes commit. Once listening, the hub re-reads what its streams
 * follow (commits made before that woke nobody). A watch that cannot start (the database is
 * briefly unreachable) is retried until the hub closes; once started, the store's watch
 * reconnects by itself.
 */
function watchOtherNodes(ports: StorePorts, hub: EventHub, logger?: Pick<Logger, 'warn'>): void {
  let closed = false;
  let watch: EventWatch | undefined;
  let timer: NodeJS.Timeout | undefined;
  const start = (attempt: number): void => {
    ports.watchEvents({ heads: (h) => hub.wake(h), resync: () => hub.resync() }).then(
      async (w) => {
        if (closed) return w.close();
        watch = w;
        // What other nodes committed before the watch listened: re-read what streams follow.
        hub.resync();
      },
      (e: unknown) => {
        if (closed) return;
        const ms = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]!;
        logger?.warn({ err: e, retryMs: ms }, 'cannot watch other nodes\' events yet; streams get this node\'s events only until it can');
        timer = setTimeout(() => start(attempt + 1), ms);
        timer.unref();
      },
    );
  };
  start(0);
  hub.closing(async () => {
    closed = true;
    clearTimeout(timer);
    await watch?.close();
  });
}
