/**
 * Follows the event stream (`GET /runs/stream`, NDJSON) across dropped connections without a
 * gap or a duplicate: it remembers the `seq` of the last event it handed out and reconnects
 * with `since=<that seq>`. Before the first event that position is the one the server names
 * in the response's `Last-Event-ID` header (where the stream started), so even a connection
 * that drops before its first event resumes exactly. A partial line cut by a drop is never
 * parsed: that event is sent again after the reconnect.
 *
 * Reconnects back off from 250 ms to 5 s and give up after two minutes without a connection.
 * A connection silent for longer than {@link IDLE_MS} (the server sends heartbeats every
 * 15 s) is treated as dropped. Answers other than 429/503 (401 after a token expired, 403…)
 * end the follow with their error.
 *
 * @example
 * const f = new EventFollower(api, { dagId: 'hello' });
 * await f.connect();                         // the stream is attached: nothing after this is missed
 * for await (const e of f.events()) console.log(e.seq, e.type);
 */
import type { StreamEvent } from '../../events/types.js';
import { ConnectError, HttpError, sleep, type ApiClient } from './http.js';

export type { StreamEvent };
export interface EventFilter {
  dagId?: string;
  status?: string;
}

export const IDLE_MS = 45_000;
const GIVE_UP_MS = 120_000;

export class EventFollower {
  /** The seq after which the next connection resumes. */
  position: number | undefined;
  /** Connections made after the first (for notes and tests). */
  reconnects = 0;
  private body: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private conn: AbortController | undefined;
  private idle: NodeJS.Timeout | undefined;
  /** The token the open connection was made with. */
  private token = '';

  constructor(
    private readonly api: ApiClient,
    private readonly filter: EventFilter,
    since?: number,
    private readonly signal?: AbortSignal,
    private readonly onReconnect: (why: string) => void = () => {},
  ) {
    this.position = since;
    signal?.addEventListener('abort', () => this.conn?.abort(), { once: true });
  }

  /** Opens a connection (retrying transient failures); after it resolves no event is missed. */
  async connect(): Promise<void> {
    const started = Date.now();
    clearTimeout(this.idle);
    for (let attempt = 0; ; attempt++) {
      this.conn = new AbortController();
      this.token = this.api.currentToken();
      try {
        const res = await this.api.send('GET', '/runs/stream', {
          query: { ...this.filter, since: this.position },
          headers: { accept: 'application/x-ndjson' },
          signal: this.conn.signal,
        });
        if (this.position === undefined) {
          const anchor = res.headers.get('last-event-id');
          if (anchor !== null && /^\d+$/.test(anchor)) this.position = Number(anchor);
        }
        this.body = res.body!.getReader();
        return;
      } catch (e) {
        if (this.signal?.aborted) throw e;
        const transient = e instanceof ConnectError || (e instanceof HttpError && (e.status === 429 || e.status === 503));
        if (!transient || Date.now() - started > GIVE_UP_MS) throw e;
        this.onReconnect((e as Error).message);
        await sleep(Math.min(5000, 250 * 2 ** attempt), this.signal);
      }
    }
  }

  private armIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.conn?.abort(), IDLE_MS);
    this.idle.unref();
  }

  /** The next chunk of the open connection; undefined when it ended or broke (with why). */
  private async read(): Promise<{ chunk?: Uint8Array; why?: string }> {
    try {
      const { done, value } = await this.body!.read();
      return done ? { why: 'the server closed the stream' } : { chunk: value };
    } catch (e) {
      if (this.signal?.aborted) throw e;
      return { why: `connection lost (${(e as Error).message})` };
    }
  }

  /** Events in seq order, for as long as the caller iterates (heartbeats are dropped). */
  async *events(): AsyncGenerator<StreamEvent> {
    if (!this.body) await this.connect();
    try {
      for (let idle = 0; ; ) {
        const decoder = new TextDecoder();
        let buffered = '';
        let closing: string | undefined;
        let expired = false;
        let delivered = false;
        for (;;) {
          this.armIdle();
          const { chunk, why } = await this.read();
          if (!chunk) {
            closing ??= why;
            break;
          }
          buffered += decoder.decode(chunk, { stream: true });
          let nl: number;
          while ((nl = buffered.indexOf('\n')) !== -1) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (!line) continue;
            const msg = JSON.parse(line) as { type: string; seq?: number; code?: string; message?: string };
            if (msg.type === 'heartbeat') continue;
            if (msg.type === 'error') {
              closing = `${msg.code}: ${msg.message}`;
              expired ||= msg.code === 'TOKEN_EXPIRED';
              continue;
            }
            if (typeof msg.seq !== 'number' || (this.position !== undefined && msg.seq <= this.position)) continue;
            this.position = msg.seq;
            delivered = true;
            yield msg as unknown as StreamEvent;
          }
        }
        // The same token again would only be cut off again (the server accepts it for its clock
        // skew a little longer): stop; a token file that now holds another token goes on.
        if (expired && this.api.currentToken() === this.token) {
          throw new HttpError(401, 'UNAUTHENTICATED', 'the token expired while following the stream', undefined);
        }
        this.reconnects++;
        this.onReconnect(closing ?? 'the stream ended');
        // A connection that ended without delivering anything is not retried in a tight loop.
        idle = delivered ? 0 : idle + 1;
        if (idle > 1) await sleep(Math.min(5000, 250 * 2 ** (idle - 2)), this.signal);
        await this.connect();
      }
    } finally {
      this.close();
    }
  }

  close(): void {
    clearTimeout(this.idle);
    this.conn?.abort();
    this.body = undefined;
  }
}
