/**
 * Wake-ups of the event log across nodes (docs/SCALE-OUT.md, "One event stream across nodes"):
 * every append of events notifies the channel {@link EVENTS_CHANNEL} in its own transaction, so
 * PostgreSQL delivers the notification when — and only if — the events commit, carrying the
 * tenants' new heads. A node's stream hub listens on one dedicated connection and re-reads the
 * table (the truth) when woken. A notification is a hint: it is lost while the connection is
 * down, so after every reconnect the listener is told to re-read everything it follows
 * (`resync`).
 *
 * @example
 * const watch = await store.watchEvents({ heads: (h) => hub.wake(h), resync: () => hub.rereadAll() });
 * await watch.close();
 */
import pg from 'pg';
import type { EventWatch, EventWatchListener } from '../ports.js';

/** The channel appends notify; payload: JSON `[[tenant, seq], …]`, the tenants' new heads. */
export const EVENTS_CHANNEL = 'stella_events';
/** PostgreSQL refuses payloads of 8000 bytes or more: heads are split below this. */
const MAX_PAYLOAD = 7000;

/** The notification payloads of an append whose last seq per tenant is `heads`. */
export function headPayloads(heads: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  let part: Array<[string, number]> = [];
  let size = 2;
  for (const [tenant, seq] of heads) {
    const add = Buffer.byteLength(JSON.stringify([tenant, seq])) + 1;
    if (part.length > 0 && size + add > MAX_PAYLOAD) {
      out.push(JSON.stringify(part));
      part = [];
      size = 2;
    }
    part.push([tenant, seq]);
    size += add;
  }
  if (part.length > 0) out.push(JSON.stringify(part));
  return out;
}

function parseHeads(payload: string): Array<{ tenant: string; seq: number }> | null {
  try {
    const v = JSON.parse(payload) as unknown;
    if (!Array.isArray(v)) return null;
    const out: Array<{ tenant: string; seq: number }> = [];
    for (const x of v) {
      if (!Array.isArray(x) || typeof x[0] !== 'string' || typeof x[1] !== 'number') return null;
      out.push({ tenant: x[0], seq: x[1] });
    }
    return out;
  } catch {
    return null;
  }
}

const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

/**
 * Listens for appends on a dedicated connection (not the pool's), reconnecting with backoff;
 * after each reconnect the listener re-reads (`resync`), since notifications sent while the
 * connection was down are gone.
 */
export async function watchEvents(url: string, types: pg.CustomTypesConfig, l: EventWatchListener): Promise<EventWatch> {
  let closed = false;
  let client: pg.Client | null = null;
  let timer: NodeJS.Timeout | undefined;
  let retryMs = MIN_RETRY_MS;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, types, application_name: 'stella-events-watch' });
    c.on('notification', (n) => {
      if (n.channel !== EVENTS_CHANNEL) return;
      const heads = parseHeads(n.payload ?? '');
      if (heads) l.heads(heads);
      else l.resync();
    });
    const lost = (): void => {
      if (client !== c) return;
      client = null;
      c.removeAllListeners('notification');
      c.end().catch(() => {});
      if (!closed) schedule();
    };
    c.on('error', lost);
    c.on('end', lost);
    await c.connect();
    await c.query(`listen ${EVENTS_CHANNEL}`);
    client = c;
    retryMs = MIN_RETRY_MS;
  };

  const schedule = (): void => {
    timer = setTimeout(() => {
      timer = undefined;
      connect().then(
        () => (closed ? client?.end().catch(() => {}) : l.resync()),
        () => {
          retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
          if (!closed) schedule();
        },
      );
    }, retryMs);
    timer.unref();
  };

  await connect();
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      const c = client;
      client = null;
      await c?.end().catch(() => {});
    },
  };
}
