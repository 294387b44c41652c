import type { EventView } from '../store/events.js';

/** An event as clients see it (CONTRACT §6): the event log's view. */
export type StreamEvent = EventView;

/** Reads committed events of one tenant after `seq`, in `seq` order (the event log, through the ports). */
export interface EventLogReader {
  after(tenant: string, afterSeq: number, limit: number): Promise<StreamEvent[]>;
  lastSeq(tenant: string): Promise<number>;
}

/** Delivers batches of events right after the transaction that wrote them commits. */
export interface EventFeed {
  subscribe(listener: (events: readonly StreamEvent[]) => void): () => void;
}

export interface StreamFilter {
  dagId?: string;
  status?: string;
  /** One run's events only (a client following one run). */
  runId?: string;
}

export function matches(e: StreamEvent, f: StreamFilter): boolean {
  return (
    (f.dagId === undefined || e.dagId === f.dagId) &&
    (f.status === undefined || e.status === f.status) &&
    (f.runId === undefined || e.runId === f.runId)
  );
}
