/**
 * The two transports of the event stream: NDJSON over chunked HTTP and WebSocket text frames.
 * Both write one JSON event per line/frame, heartbeats every `heartbeatMs`, and end with a
 * last `{"type":"error","code",…}` line/frame when the server ends the stream.
 */
import type { StreamEvent } from './types.js';
import type { StreamSink } from './hub.js';

const enc = new TextEncoder();

export const WS_CLOSE_CODES = { SLOW_CONSUMER: 4008, TOKEN_EXPIRED: 4001, SHUTDOWN: 1001, UNAVAILABLE: 1011 } as const;

function heartbeat(): string {
  return JSON.stringify({ type: 'heartbeat', timestamp: new Date().toISOString() });
}

/**
 * NDJSON sink backed by a pull-based ReadableStream; the lines it holds are its backlog. Lines
 * written in one synchronous stretch (a commit's events, delivered together) leave as ONE chunk,
 * at the end of the current microtask checkpoint: one write to the socket per commit instead of
 * one per event (the socket write and the web-stream hand-off per chunk were ≈ 10 % of the main
 * thread under sustained load).
 */
export class NdjsonSink implements StreamSink {
  private lines: string[] = [];
  private queued = 0;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private waiting = false;
  private flushScheduled = false;
  private ended = false;
  private readonly timer: NodeJS.Timeout;
  readonly body: ReadableStream<Uint8Array>;
  onCancel: () => void = () => {};

  constructor(heartbeatMs: number) {
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: () => {
          if (!this.flush()) this.waiting = true;
        },
        cancel: () => {
          this.stop();
          this.onCancel();
        },
      },
      { highWaterMark: 0 },
    );
    this.timer = setInterval(() => this.line(heartbeat()), heartbeatMs);
    this.timer.unref();
  }

  /** Hands every queued line to the reader as one chunk; false when there was none. */
  private flush(): boolean {
    if (this.lines.length === 0) {
      if (this.ended) {
        try {
          this.controller.close();
        } catch {
          /* already closed */
        }
      }
      return false;
    }
    const text = this.lines.join('');
    this.lines = [];
    this.queued = 0;
    this.controller.enqueue(enc.encode(text));
    return true;
  }

  private line(text: string): void {
    if (this.ended) return;
    const l = text + '\n';
    this.lines.push(l);
    this.queued += Buffer.byteLength(l);
    this.wake();
  }

  /** A reader waits: give it what is queued once this synchronous stretch ends. */
  private wake(): void {
    if (!this.waiting || this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      if (!this.waiting) return;
      this.waiting = false;
      if (!this.flush()) this.waiting = true;
    });
  }

  write(e: StreamEvent): void {
    this.line(JSON.stringify(e));
  }

  backlog(): number {
    return this.queued;
  }

  close(code: string, message: string): void {
    if (this.ended) return;
    this.line(JSON.stringify({ type: 'error', code, message, timestamp: new Date().toISOString() }));
    this.stop();
    if (this.waiting) {
      this.waiting = false;
      this.flush();
    }
  }

  private stop(): void {
    this.ended = true;
    clearInterval(this.timer);
  }
}

/** Minimal view of a `ws` WebSocket. */
export interface RawSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  readonly bufferedAmount: number;
  readonly readyState: number;
}

export class WebSocketSink implements StreamSink {
  private readonly timer: NodeJS.Timeout;
  private ended = false;

  constructor(
    private readonly ws: RawSocket,
    heartbeatMs: number,
  ) {
    this.timer = setInterval(() => this.send(heartbeat()), heartbeatMs);
    this.timer.unref();
  }

  private send(text: string): void {
    if (!this.ended && this.ws.readyState === 1) this.ws.send(text);
  }

  write(e: StreamEvent): void {
    this.send(JSON.stringify(e));
  }

  backlog(): number {
    return this.ws.bufferedAmount;
  }

  close(code: keyof typeof WS_CLOSE_CODES, message: string): void {
    if (this.ended) return;
    this.send(JSON.stringify({ type: 'error', code, message, timestamp: new Date().toISOString() }));
    this.stop();
    this.ws.close(WS_CLOSE_CODES[code], code);
  }

  stop(): void {
    this.ended = true;
    clearInterval(this.timer);
  }
}
