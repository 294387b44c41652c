/**
 * The console's only way to the server: the public API with the user's own token and tenant.
 * Every error is the API's envelope, surfaced as {@link ApiFailure}; a 401 also ends the
 * session (the app goes back to sign-in with the API's message).
 *
 * @example
 * const api = new Api(session, (msg) => signOut(msg));
 * const page = await api.get<List<DagSummary>>('/dags', { page_size: 50 });
 */
import { API_BASE } from '../../core/paths.js';
import type { Session } from './session.js';

export interface List<T> {
  items: T[];
  next_page_token?: string;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly traceId?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export function queryString(q: Query = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** A random Idempotency-Key (works outside secure contexts too, unlike randomUUID). */
function idempotencyKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return `console-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

/** The envelope of a failed response, or a generic failure when the body is not one. */
export async function failureOf(res: Response): Promise<ApiFailure> {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; trace_id?: string; details?: Record<string, unknown> } };
    const e = body.error;
    if (e && typeof e.code === 'string') return new ApiFailure(res.status, e.code, e.message ?? e.code, e.trace_id, e.details);
  } catch {
    /* not JSON */
  }
  return new ApiFailure(res.status, 'HTTP_' + res.status, `the server answered ${res.status} ${res.statusText}`);
}

export class Api {
  constructor(
    readonly session: Session,
    private readonly onUnauthenticated: (message: string) => void,
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.session.token}`, 'x-stella-tenant': this.session.tenant, ...extra };
  }

  /** A raw authenticated request (streams, artifacts); throws ApiFailure on any non-2xx but `also`. */
  async fetch(path: string, init: RequestInit & { headers?: Record<string, string>; also?: number[] } = {}): Promise<Response> {
    let res: Response;
    const { also, ...rest } = init;
    try {
      res = await fetch(API_BASE + path, { ...rest, headers: this.headers(init.headers), cache: 'no-store', credentials: 'omit' });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      throw new ApiFailure(0, 'NETWORK', 'The server cannot be reached.');
    }
    if (res.ok || also?.includes(res.status)) return res;
    const failure = await failureOf(res);
    if (res.status === 401) this.onUnauthenticated(failure.message);
    throw failure;
  }

  async get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    const res = await this.fetch(path + queryString(query), { headers: { accept: 'application/json' }, signal });
    return (await res.json()) as T;
  }

  /** A mutating POST, with a fresh Idempotency-Key so a retried click cannot act twice. */
  async post<T>(path: string, body: unknown = {}): Promise<T> {
    const res = await this.fetch(path, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', accept: 'application/json', 'idempotency-key': idempotencyKey() },
    });
    return (await res.json()) as T;
  }

  /** Bytes of an artifact this tenant owns, with its media type. */
  async artifact(hash: string): Promise<Blob> {
    const res = await this.fetch(`/artifacts/${encodeURIComponent(hash)}`);
    return res.blob();
  }
}

/** `/admin/health` without a token: exactly `{status, ready}` (what a probe sees). */
export async function probeHealth(): Promise<{ status: string; ready: boolean }> {
  const res = await fetch(`${API_BASE}/admin/health`, { cache: 'no-store', credentials: 'omit' });
  return (await res.json()) as { status: string; ready: boolean };
}
