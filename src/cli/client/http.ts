/**
 * The client's one way to talk to a server: `fetch` (Node 20) with the bearer token, the
 * tenant header, one W3C trace per command, an `Idempotency-Key` on every mutating request (so a
 * retried POST, PUT or DELETE never acts twice), bounded retries of the answers that ask for one (429
 * `RATE_LIMITED`, 503 `UNAVAILABLE`, 409 `IDEMPOTENCY_IN_FLIGHT`, honouring `Retry-After`),
 * and every error envelope turned into an {@link HttpError}.
 *
 * @example
 * const api = new ApiClient({ server: 'http://127.0.0.1:8080', token: () => t, tenant: 'demo' });
 * const run = await api.json('GET', `/runs/${id}`);
 * for await (const r of api.pages('/runs', { status: 'failed' }, { limit: 120 })) console.log(r.runId);
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { API_BASE } from '../../core/paths.js';
import { VERSION } from '../../core/runtime.js';

const RETRYABLE = new Set(['RATE_LIMITED', 'UNAVAILABLE', 'IDEMPOTENCY_IN_FLIGHT']);
const MAX_RETRIES = 4;
const MAX_RETRY_WAIT_MS = 10_000;

/** An answer of the server that is not 2xx, with its error envelope. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly traceId: string | undefined,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The server could not be reached, or the connection broke. */
export class ConnectError extends Error {}

export type Query = Record<string, string | number | boolean | undefined>;

export interface ClientOptions {
  /** Base URL of the server (`http://host:port`, with or without the API base path). */
  server: string;
  /** The bearer token; called for every request, so a token file can be rotated under a long follow. */
  token: () => string;
  tenant: string;
  /** Aborts every request of the command (Ctrl-C). */
  signal?: AbortSignal;
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Retry the answers that ask for it (default true). */
  retry?: boolean;
}

/** The trace id of a `traceparent` header, when it is one. */
function traceOf(h: string | null): string | undefined {
  return /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(h ?? '')?.[1];
}

/** Turns a non-2xx response into an HttpError (reads its body). */
export async function errorOf(res: Response): Promise<HttpError> {
  const text = await res.text().catch(() => '');
  let env: { error?: { code?: unknown; message?: unknown; trace_id?: unknown; details?: unknown } } | undefined;
  try {
    env = JSON.parse(text);
  } catch {
    env = undefined;
  }
  const e = env?.error;
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    const trace = typeof e.trace_id === 'string' ? e.trace_id : traceOf(res.headers.get('traceparent'));
    return new HttpError(res.status, e.code, e.message, trace, e.details);
  }
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return new HttpError(res.status, `HTTP_${res.status}`, snippet || res.statusText || 'no error envelope', traceOf(res.headers.get('traceparent')));
}

function retryAfterMs(res: Response, attempt: number): number {
  const s = Number(res.headers.get('retry-after'));
  const ms = Number.isFinite(s) && s >= 0 ? s * 1000 : 250 * 2 ** attempt;
  return Math.min(ms, MAX_RETRY_WAIT_MS);
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export class ApiClient {
  readonly base: string;
  /** One trace per command: every request of it continues the same trace id. */
  readonly traceId = randomBytes(16).toString('hex');

  constructor(private readonly opts: ClientOptions) {
    let url: URL;
    try {
      url = new URL(opts.server);
    } catch {
      throw new ConnectError(`--server must be an http(s) URL, got "${opts.server}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConnectError(`--server must be an http(s) URL, got "${opts.server}"`);
    const path = url.pathname.replace(/\/+$/, '');
    this.base = url.origin + (path.endsWith(API_BASE) ? path : path + API_BASE);
  }

  /** The token requests are sent with now (a token file is read again). */
  currentToken(): string {
    return this.opts.token();
  }

  get tenant(): string {
    return this.opts.tenant;
  }

  url(path: string, query: Query = {}): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    const s = q.toString();
    return this.base + path + (s ? `?${s}` : '');
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      authorization: `Bearer ${this.currentToken()}`,
      'x-stella-tenant': this.opts.tenant,
      traceparent: `00-${this.traceId}-${randomBytes(8).toString('hex')}-01`,
      'user-agent': `orchestrator-cli/${VERSION}`,
      ...extra,
    };
  }

  /** Sends one request; answers 2xx as a Response, anything else as an HttpError. */
  async send(method: string, path: string, o: RequestOptions = {}): Promise<Response> {
    const signal = o.signal ?? this.opts.signal;
    const extra: Record<string, string> = { ...o.headers };
    let body: string | undefined;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      extra['content-type'] = 'application/json';
    }
    if (method !== 'GET') extra['idempotency-key'] ??= randomUUID();
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.url(path, o.query), { method, headers: this.headers(extra), body, signal });
      } catch (e) {
        if (signal?.aborted) throw e;
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw new ConnectError(`cannot reach ${this.base}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
      }
      if (res.ok) return res;
      const err = await errorOf(res);
      if (o.retry === false || attempt >= MAX_RETRIES || !RETRYABLE.has(err.code)) throw err;
      await sleep(retryAfterMs(res, attempt), signal);
    }
  }

  /** A JSON request; the parsed body and the status. */
  async json<T = any>(method: string, path: string, o: RequestOptions = {}): Promise<{ status: number; body: T }> {
    const res = await this.send(method, path, o);
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /**
   * Every item of a list, page after page (`page_token`), up to `limit` items (all when
   * undefined). Each request asks for at most `pageSize` items (1–500).
   */
  async *pages<T = any>(path: string, query: Query, o: { limit?: number; pageSize: number }): AsyncGenerator<T, { more: boolean }> {
    let token: string | undefined;
    let left = o.limit ?? Infinity;
    while (left > 0) {
      const size = Math.min(o.pageSize, left);
      const { body } = await this.json<{ items: T[]; next_page_token?: string }>('GET', path, {
        query: { ...query, page_size: size, page_token: token },
      });
      for (const item of body.items.slice(0, left)) {
        left--;
        yield item;
      }
      token = body.next_page_token;
      if (!token) return { more: false };
    }
    return { more: token !== undefined };
  }
}
