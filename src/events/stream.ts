/**
 * One open stream of a tenant's events (events/hub.ts): replayed from the log, then live. It
 * delivers each event once, in seq order, and only pieces of the log that connect to what it
 * has sent (see the hub's description).
 */
import { matches, type StreamEvent, type StreamFilter } from './types.js';

export type StreamCloseCode = 'SLOW_CONSUMER' | 'TOKEN_EXPIRED' | 'SHUTDOWN' | 'UNAVAILABLE';

/** Where a stream writes. `write` returns false when the client is not keeping up. */
export interface StreamSink {
  write(event: StreamEvent): void;
  /** Bytes or messages waiting to be sent to the client. */
  backlog(): number;
  close(code: StreamCloseCode, message: string): void;
}

/** What a stream needs of its hub. */
export interface StreamOwner {
  readonly maxBacklogBytes: number;
  detach(stream: Stream): void;
}

/** Every event of a tenant with `from < seq <= last event's seq`, in seq order. */
interface Piece {
  from: number;
  events: readonly StreamEvent[];
}

export class Stream {
  lastSeq: number;
  /** Pieces that arrived while the stream replays; null once live. */
  private pending: Piece[] | null = [];
  /** Another node committed while the stream replays: read the log once more before going live. */
  private reread = false;
  closed = false;

  constructor(
    readonly tenant: string,
    readonly filter: StreamFilter,
    private readonly sink: StreamSink,
    private readonly hub: StreamOwner,
    since: number,
  ) {
    this.lastSeq = since;
  }

  get live(): boolean {
    return this.pending === null && !this.closed;
  }

  /** Events were committed elsewhere up to `seq`: true when the hub must read the log for this live stream. */
  behind(seq: number): boolean {
    if (this.closed || seq <= this.lastSeq) return false;
    if (this.pending) this.reread = true;
    return this.pending === null;
  }

  /**
   * A piece of the log: buffered while replaying; delivered when live and it connects. False
   * when it does not connect (events before it are still to be read from the log).
   */
  offer(from: number, events: readonly StreamEvent[]): boolean {
    if (this.closed || events.length === 0) return true;
    if (this.pending) {
      this.pending.push({ from, events });
      return true;
    }
    if (from > this.lastSeq) return false;
    this.deliver(events);
    return true;
  }

  /** Events read from the log after {@link lastSeq}: they always connect. */
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

  /**
   * Ends the replay phase: delivers the pieces that arrived meanwhile. False (still replaying)
   * when one does not connect: the log is read again, and the pieces after it wait.
   */
  goLive(): boolean {
    if (this.reread) {
      this.reread = false;
      return false;
    }
    const p = this.pending ?? [];
    while (p.length > 0) {
      if (this.closed) return true;
      if (p[0]!.from > this.lastSeq) return false;
      this.deliver(p.shift()!.events);
    }
    this.pending = null;
    return true;
  }

  close(code: StreamCloseCode, message: string): void {
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
