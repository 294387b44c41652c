/** Test clients for the event stream: NDJSON over fetch, and WebSocket via `ws`. */
import WebSocket from 'ws';
import { BASE } from '../helpers/base.js';
import type { TestServer } from '../helpers/server.js';

export interface EventClient {
  events: any[];
  /** Waits until `pred` holds for the collected events (or the stream ends). */
  until(pred: (events: any[]) => boolean, timeoutMs?: number): Promise<any[]>;
  ended: Promise<void>;
  close(): void;
}

function collector(): { events: any[]; push(e: any): void; end(): void; until: EventClient['until']; ended: Promise<void> } {
  const events: any[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let endResolve!: () => void;
  const ended = new Promise<void>((r) => (endResolve = r));
  return {
    events,
    ended,
    push(e) {
      events.push(e);
      wake?.();
    },
    end() {
      done = true;
      endResolve();
      wake?.();
    },
    async until(pred, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred(events)) {
        if (done) throw new Error(`stream ended before the condition held (${events.length} events)`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for events (${events.length} so far)`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return events;
    },
  };
}

export async function openNdjson(t: TestServer, query = '', opts: { tenant?: string; token?: string; headers?: Record<string, string> } = {}): Promise<EventClient & { status: number; body?: any }> {
  const ac = new AbortController();
  const token = opts.token ?? (await t.token({ tenants: [opts.tenant ?? 'a'] }));
  const res = await fetch(`${t.url}${BASE}/runs/stream${query}`, {
    headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': opts.tenant ?? 'a', accept: 'application/x-ndjson', ...opts.headers },
    signal: ac.signal,
  });
  const c = collector();
  if (res.status !== 200) {
    const body = await res.json();
    c.end();
    return { ...c, status: res.status, body, close() {} };
  }
  (async () => {
    const dec = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line) c.push(JSON.parse(line));
        }
      }
    } catch {
      /* aborted */
    }
    c.end();
  })();
  return { ...c, status: 200, close: () => ac.abort() };
}

export async function openWs(t: TestServer, query = '', opts: { tenant?: string; token?: string; headers?: Record<string, string> } = {}): Promise<EventClient & { ws: WebSocket; closeInfo: Promise<{ code: number; reason: string }> }> {
  const token = opts.token ?? (await t.token({ tenants: [opts.tenant ?? 'a'] }));
  const ws = new WebSocket(`${t.url.replace('http', 'ws')}${BASE}/runs/stream${query}`, {
    headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': opts.tenant ?? 'a', ...opts.headers },
  });
  const c = collector();
  const closeInfo = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      c.end();
      resolve({ code, reason: reason.toString() });
    });
  });
  ws.on('message', (data) => c.push(JSON.parse(data.toString())));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`status ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
  return { ...c, ws, closeInfo, close: () => ws.close() };
}
