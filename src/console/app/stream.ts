/**
 * The live event stream (`GET /runs/stream`, NDJSON over fetch: a browser WebSocket cannot
 * send the Authorization header, and the token must never go into a URL). One stream per
 * signed-in tab feeds every view. After a drop it reconnects with `since=<last seq>`, so the
 * server replays what was missed with no gap and no duplicate; a stream that had no event yet
 * reconnects without `since` and tells the views to reload (`resumed: false`). The server's
 * `TOKEN_EXPIRED` line ends the session with the server's message.
 *
 * @example
 * const s = new EventStream(api, (msg) => signOut(msg));
 * const off = s.on((e) => e.runId === id && reload());
 * s.start();
 */
import { ApiFailure, type Api } from './api.js';
import { splitLines } from './logs.js';
import type { RunEvent } from './types.js';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface StreamOptions {
  /** No byte (not even a heartbeat, every 15 s) for this long: the connection is dead. */
  idleMs?: number;
  maxDelayMs?: number;
}

export class EventStream {
  state: StreamState = 'connecting';
  lastSeq: number | undefined;
  private readonly listeners = new Set<(e: RunEvent) => void>();
  private readonly stateListeners = new Set<(s: StreamState, resumed: boolean) => void>();
  private abort: AbortController | undefined;
  private stopped = false;

  constructor(
    private readonly api: Api,
    private readonly onExpired: (message: string) => void,
    private readonly opts: StreamOptions = {},
  ) {}

  on(fn: (e: RunEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onState(fn: (s: StreamState, resumed: boolean) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.setState('stopped', false);
  }

  private setState(s: StreamState, resumed: boolean): void {
    this.state = s;
    for (const fn of this.stateListeners) fn(s, resumed);
  }

  private async loop(): Promise<void> {
    let delay = 500;
    while (!this.stopped) {
      const ctl = new AbortController();
      this.abort = ctl;
      const since = this.lastSeq;
      try {
        const q = since !== undefined ? `?since=${since}` : '';
        const res = await this.api.fetch(`/runs/stream${q}`, { headers: { accept: 'application/x-ndjson' }, signal: ctl.signal });
        if (!res.body) throw new Error('no body');
        this.setState('live', since !== undefined);
        delay = 500;
        await this.read(res.body, ctl);
      } catch (e) {
        // 401: the API client has already ended the session.
        if (e instanceof ApiFailure && e.status === 401) return;
      }
      if (this.stopped) return;
      this.setState('reconnecting', false);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, this.opts.maxDelayMs ?? 10_000);
    }
  }

  private async read(body: ReadableStream<Uint8Array>, ctl: AbortController): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const idleMs = this.opts.idleMs ?? 45_000;
    let timer = setTimeout(() => ctl.abort(), idleMs);
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        clearTimeout(timer);
        timer = setTimeout(() => ctl.abort(), idleMs);
        buffer += decoder.decode(value, { stream: true });
        const { lines, rest } = splitLines(buffer);
        buffer = rest;
        for (const line of lines) this.handle(line);
        if (this.stopped) return;
      }
    } finally {
      clearTimeout(timer);
      reader.cancel().catch(() => {});
    }
  }

  private handle(line: string): void {
    let e: Partial<RunEvent> & { code?: string; message?: string };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      return;
    }
    if (e.type === 'heartbeat') return;
    if (e.type === 'error') {
      if (e.code === 'TOKEN_EXPIRED') {
        this.stopped = true;
        this.onExpired(e.message ?? 'the token expired');
      }
      return;
    }
    if (typeof e.seq !== 'number') return;
    if (this.lastSeq !== undefined && e.seq <= this.lastSeq) return;
    this.lastSeq = e.seq;
    for (const fn of this.listeners) fn(e as RunEvent);
  }
}
