/** An event as clients see it (CONTRACT §6). */
export interface StreamEvent {
  seq: number;
  type: 'run.started' | 'run.updated' | 'step.updated' | 'run.completed' | 'run.failed' | 'run.cancelled';
  tenant: string;
  dagId: string;
  runId: string;
  stepId?: string;
  status: string;
  timestamp: string;
  traceId: string;
}

/** Reads committed events of one tenant after `seq`, in `seq` order. */
export interface EventLogReader {
  after(tenant: string, afterSeq: number, limit: number): StreamEvent[];
  lastSeq(tenant: string): number;
}

/** Delivers batches of events right after the transaction that wrote them commits. */
export interface EventFeed {
  subscribe(listener: (events: readonly StreamEvent[]) => void): () => void;
}

export interface StreamFilter {
  dagId?: string;
  status?: string;
}

export function matches(e: StreamEvent, f: StreamFilter): boolean {
  return (f.dagId === undefined || e.dagId === f.dagId) && (f.status === undefined || e.status === f.status);
}
