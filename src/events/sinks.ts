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

/** NDJSON sink backed by a pull-based ReadableStream; the queue it holds is its backlog. */
export class NdjsonSink implements StreamSink {
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private waiting = false;
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
          if (!this.flushOne()) this.waiting = true;
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

  private flushOne(): boolean {
    const chunk = this.queue.shift();
    if (!chunk) {
      if (this.ended) {
        try {
          this.controller.close();
        } catch {
          /* already closed */
        }
      }
      return false;
    }
    this.queued -= chunk.byteLength;
    this.controller.enqueue(chunk);
    return true;
  }

  private line(text: string): void {
    if (this.ended) return;
    const bytes = enc.encode(text + '\n');
    this.queue.push(bytes);
    this.queued += bytes.byteLength;
    if (this.waiting) {
      this.waiting = false;
      this.flushOne();
    }
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
      this.flushOne();
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
