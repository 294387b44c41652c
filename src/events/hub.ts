/**
 * Fans committed events out to open streams, from memory. A stream that asks for `since=N`
 * is first replayed from the log and then switched to live without a gap or a duplicate:
 * it subscribes before reading the log, buffers what arrives meanwhile, and drops anything
 * at or below the last `seq` it has sent.
 *
 * @example
 * const hub = new EventHub({ log, feed, maxStreamsPerTenant: 32 });
 * const stream = hub.open('demo', { dagId: 'x' }, 17, sink);
 */
import { ApiError } from '../core/index.js';
import { matches, type EventFeed, type EventLogReader, type StreamEvent, type StreamFilter } from './types.js';

/** Where a stream writes. `write` returns false when the client is not keeping up. */
export interface StreamSink {
  write(event: StreamEvent): void;
  /** Bytes or messages waiting to be sent to the client. */
  backlog(): number;
  close(code: 'SLOW_CONSUMER' | 'TOKEN_EXPIRED' | 'SHUTDOWN', message: string): void;
}

export interface HubOptions {
  log: EventLogReader;
  feed: EventFeed;
  maxStreamsPerTenant: number;
  /** Backlog (bytes) past which a stream is cut off. */
  maxBacklogBytes?: number;
  replayBatch?: number;
}

export class Stream {
  lastSeq: number;
  private pending: StreamEvent[] | null = [];
  closed = false;

  constructor(
    readonly tenant: string,
    readonly filter: StreamFilter,
    private readonly sink: StreamSink,
    private readonly hub: EventHub,
    since: number,
  ) {
    this.lastSeq = since;
  }

  /** Live events from the feed; buffered until the replay has caught up. */
  push(events: readonly StreamEvent[]): void {
    if (this.closed) return;
    if (this.pending) {
      this.pending.push(...events);
      return;
    }
    this.deliver(events);
  }

  deliver(events: readonly StreamEvent[]): void {
    for (const e of events) {
      if (this.closed) return;
      if (e.seq <= this.lastSeq) continue;
      this.lastSeq = e.seq;
      if (!matches(e, this.filter)) continue;
      if (this.sink.backlog() > this.hub.maxBacklogBytes) {
        this.close('SLOW_CONSUMER', `the client did not keep up with the stream; reconnect with since=${e.seq - 1}`);
        return;
      }
      this.sink.write(e);
    }
  }

  /** Ends the replay phase: flushes what arrived live meanwhile. */
  goLive(): void {
    const p = this.pending ?? [];
    this.pending = null;
    this.deliver(p);
  }

  close(code: 'SLOW_CONSUMER' | 'TOKEN_EXPIRED' | 'SHUTDOWN', message: string): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.detach(this);
    this.sink.close(code, message);
  }

  /** The client went away. */
  detach(): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.detach(this);
  }
}

export class EventHub {
  private readonly streams = new Map<string, Set<Stream>>();
  private total = 0;
  private readonly unsubscribe: () => void;
  readonly maxBacklogBytes: number;

  constructor(private readonly opts: HubOptions) {
    this.maxBacklogBytes = opts.maxBacklogBytes ?? 8 * 1024 * 1024;
    this.unsubscribe = opts.feed.subscribe((events) => this.dispatch(events));
  }

  private dispatch(events: readonly StreamEvent[]): void {
    let byTenant: Map<string, StreamEvent[]> | undefined;
    for (const e of events) {
      if (!this.streams.has(e.tenant)) continue;
      byTenant ??= new Map();
      let list = byTenant.get(e.tenant);
      if (!list) byTenant.set(e.tenant, (list = []));
      list.push(e);
    }
    if (!byTenant) return;
    for (const [tenant, list] of byTenant) {
      for (const s of [...(this.streams.get(tenant) ?? [])]) s.push(list);
    }
  }

  /** Throws QUOTA_EXCEEDED when the tenant already has its maximum of open streams. */
  assertCapacity(tenant: string): void {
    if (this.count(tenant) >= this.opts.maxStreamsPerTenant) {
      throw new ApiError('QUOTA_EXCEEDED', `at most ${this.opts.maxStreamsPerTenant} open streams per tenant`, undefined, {
        retryAfterSeconds: 5,
      });
    }
  }

  /** Streams open across all tenants. */
  openStreams(): number {
    return this.total;
  }

  count(tenant: string): number {
    return this.streams.get(tenant)?.size ?? 0;
  }

  /**
   * Opens a stream: replays after `since` (when given) then goes live. Without `since` it starts
   * at the tenant's current last event. Throws QUOTA_EXCEEDED past the per-tenant cap.
   */
  open(tenant: string, filter: StreamFilter, since: number | undefined, sink: StreamSink): Stream {
    this.assertCapacity(tenant);
    const start = since ?? this.opts.log.lastSeq(tenant);
    const stream = new Stream(tenant, filter, sink, this, start);
    let set = this.streams.get(tenant);
    if (!set) this.streams.set(tenant, (set = new Set()));
    set.add(stream);
    this.total++;
    return stream;
  }

  /** Replays the log after the stream's position in batches, yielding between them. */
  async replay(stream: Stream): Promise<void> {
    const batch = this.opts.replayBatch ?? 500;
    for (;;) {
      if (stream.closed) return;
      const rows = this.opts.log.after(stream.tenant, stream.lastSeq, batch);
      stream.deliver(rows);
      if (rows.length < batch) break;
      await new Promise((r) => setImmediate(r));
    }
    stream.goLive();
  }

  detach(stream: Stream): void {
    const set = this.streams.get(stream.tenant);
    if (set?.delete(stream)) this.total--;
    if (set && set.size === 0) this.streams.delete(stream.tenant);
  }

  /** Closes every stream (shutdown). */
  close(): void {
    this.unsubscribe();
    for (const set of [...this.streams.values()]) for (const s of [...set]) s.close('SHUTDOWN', 'the server is shutting down');
  }
}
