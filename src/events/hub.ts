/**
 * Fans committed events out to open streams. A stream that asks for `since=N` is first replayed
 * from the log and then switched to live without a gap or a duplicate: it subscribes before
 * reading the log, buffers what arrives meanwhile, and drops anything at or below the last
 * `seq` it has sent.
 *
 * Events reach the hub as pieces of a tenant's log: the events of one piece are every event of
 * the tenant after `from` up to its last (a page read from the log; a run of consecutive `seq`
 * this node committed). A stream takes a piece only when it connects (`from` is at or below the
 * stream's last `seq`); one that does not connect means events in between are still to be read
 * (another node committed them), so the hub reads the log (`since`) instead. Other nodes' commits
 * are announced by {@link EventHub.wake} (their tenants' new heads; `ports.watchEvents`): the hub
 * reads those tenants' logs once for all their live streams. After a lost wake-up,
 * {@link EventHub.resync} re-reads every tenant with an open stream.
 *
 * @example
 * const hub = new EventHub({ log, feed, maxStreamsPerTenant: 32 });
 * const stream = hub.open('demo', { dagId: 'x' }, since ?? (await hub.head('demo')), sink);
 * void hub.replay(stream);
 * await ports.watchEvents({ heads: (h) => hub.wake(h), resync: () => hub.resync() });
 */
import { ApiError } from '../core/index.js';
import { Stream, type StreamOwner, type StreamSink } from './stream.js';
import type { EventFeed, EventLogReader, StreamEvent, StreamFilter } from './types.js';

export { Stream, type StreamCloseCode, type StreamSink } from './stream.js';

export interface HubOptions {
  log: EventLogReader;
  /** This node's commits, in commit order. */
  feed: EventFeed;
  maxStreamsPerTenant: number;
  /** Backlog (bytes) past which a stream is cut off. */
  maxBacklogBytes?: number;
  /** Events per read of the log. */
  replayBatch?: number;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class EventHub implements StreamOwner {
  private readonly streams = new Map<string, Set<Stream>>();
  private total = 0;
  private readonly unsubscribe: () => void;
  /** Tenants whose log is being read for their live streams; `again`: read once more after. */
  private readonly reading = new Map<string, { again: boolean }>();
  private readonly onClose: Array<() => Promise<void> | void> = [];
  readonly maxBacklogBytes: number;

  constructor(private readonly opts: HubOptions) {
    this.maxBacklogBytes = opts.maxBacklogBytes ?? 8 * 1024 * 1024;
    this.unsubscribe = opts.feed.subscribe((events) => this.dispatch(events));
  }

  private get batch(): number {
    return this.opts.replayBatch ?? 500;
  }

  /** This node's commits: each tenant's runs of consecutive seq, offered as pieces. */
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
      let start = 0;
      for (let i = 1; i <= list.length; i++) {
        if (i < list.length && list[i]!.seq === list[i - 1]!.seq + 1) continue;
        this.offer(tenant, list[start]!.seq - 1, list.slice(start, i));
        start = i;
      }
    }
  }

  /** Offers a piece to the tenant's streams; one that does not connect makes the hub read the log. */
  private offer(tenant: string, from: number, events: readonly StreamEvent[]): void {
    let behind = false;
    for (const s of [...(this.streams.get(tenant) ?? [])]) if (!s.offer(from, events)) behind = true;
    if (behind) this.catchUp(tenant);
  }

  /** Other nodes committed: reads the log of each tenant whose live streams are behind `seq`. */
  wake(heads: ReadonlyArray<{ tenant: string; seq: number }>): void {
    for (const { tenant, seq } of heads) {
      let read = false;
      for (const s of this.streams.get(tenant) ?? []) if (s.behind(seq)) read = true;
      if (read) this.catchUp(tenant);
    }
  }

  /** Wake-ups may have been lost: reads the log of every tenant with an open stream. */
  resync(): void {
    for (const [tenant, set] of [...this.streams]) {
      for (const s of set) s.behind(Infinity);
      this.catchUp(tenant);
    }
  }

  /** Reads a tenant's log for its live streams, one read at a time per tenant. */
  private catchUp(tenant: string): void {
    const r = this.reading.get(tenant);
    if (r) {
      r.again = true;
      return;
    }
    const state = { again: true };
    this.reading.set(tenant, state);
    void this.readLog(tenant, state).finally(() => this.reading.delete(tenant));
  }

  private async readLog(tenant: string, state: { again: boolean }): Promise<void> {
    while (state.again) {
      state.again = false;
      const live = [...(this.streams.get(tenant) ?? [])].filter((s) => s.live);
      if (live.length === 0) return;
      let from = Math.min(...live.map((s) => s.lastSeq));
      for (;;) {
        let rows: StreamEvent[];
        try {
          rows = await this.opts.log.after(tenant, from, this.batch);
        } catch (e) {
          for (const s of live) s.close('UNAVAILABLE', `the event log could not be read (${message(e)}); reconnect with since=${s.lastSeq}`);
          return;
        }
        this.offer(tenant, from, rows);
        if (rows.length < this.batch) break;
        from = rows[rows.length - 1]!.seq;
      }
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

  /** The tenant's last committed seq: where a stream without `since` starts. */
  head(tenant: string): Promise<number> {
    return this.opts.log.lastSeq(tenant);
  }

  /**
   * Opens a stream after `since` (a client's, or {@link head}): it buffers live events until
   * {@link replay} has read the log up to them. Throws QUOTA_EXCEEDED past the per-tenant cap.
   */
  open(tenant: string, filter: StreamFilter, since: number, sink: StreamSink): Stream {
    this.assertCapacity(tenant);
    const stream = new Stream(tenant, filter, sink, this, since);
    let set = this.streams.get(tenant);
    if (!set) this.streams.set(tenant, (set = new Set()));
    set.add(stream);
    this.total++;
    return stream;
  }

  /**
   * Replays the log after the stream's position in batches, yielding between them, then goes
   * live. Never rejects: a log that cannot be read closes the stream with UNAVAILABLE.
   */
  async replay(stream: Stream): Promise<void> {
    const batch = this.batch;
    try {
      do {
        for (;;) {
          if (stream.closed) return;
          const rows = await this.opts.log.after(stream.tenant, stream.lastSeq, batch);
          stream.deliver(rows);
          if (rows.length < batch) break;
          await new Promise((r) => setImmediate(r));
        }
      } while (!stream.goLive());
    } catch (e) {
      stream.close('UNAVAILABLE', `the event log could not be read (${message(e)}); reconnect with since=${stream.lastSeq}`);
    }
  }

  detach(stream: Stream): void {
    const set = this.streams.get(stream.tenant);
    if (set?.delete(stream)) this.total--;
    if (set && set.size === 0) this.streams.delete(stream.tenant);
  }

  /** Runs `fn` when the hub closes (the cross-node watch). */
  closing(fn: () => Promise<void> | void): void {
    this.onClose.push(fn);
  }

  /** Closes every stream (shutdown) and what watches for other nodes' commits. */
  async close(): Promise<void> {
    this.unsubscribe();
    for (const set of [...this.streams.values()]) for (const s of [...set]) s.close('SHUTDOWN', 'the server is shutting down');
    for (const fn of this.onClose.splice(0)) await fn();
  }
}
