/**
 * The API's base path and the fixtures folder, on their own: a test file that drives a child
 * server (or none) takes them from here without loading the whole server in its own process
 * (test/helpers/server.ts imports all of src/, ~2-3 s of CPU through tsx per file).
 *
 * @example await fetch(`${url}${BASE}/runs`, { headers });
 */
import { join } from 'node:path';

/** The tests' own copy of the API's base path, so that a drift of the constant fails them. */
export const BASE = '/api/v1/orchestrator';
export const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

/** How a connection closed under a request shows in undici's errors. */
const CLOSED_UNDER_REQUEST = new Set(['ECONNRESET', 'UND_ERR_SOCKET']);

/**
 * `fetch` as the tests' clients send requests. The keep-alive race: when the test process is
 * held past a server's keep-alive timeout (its own synchronous work, a loaded machine), the
 * client reuses the idle connection and the server then closes it under the request
 * (ECONNRESET, or undici's UND_ERR_SOCKET "other side closed" when the close comes first). HTTP clients retry an idempotent request once in that case (RFC 9110 section
 * 9.2.2); so does this. A server that resets a request for real fails the retry too.
 *
 * @example const res = await send(`${url}${BASE}/runs`, { method: 'GET', headers });
 */
export async function send(url: string, init: RequestInit & { method: string }): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    if ((init.method !== 'GET' && init.method !== 'HEAD') || !CLOSED_UNDER_REQUEST.has((e as { cause?: { code?: string } }).cause?.code ?? '')) throw e;
    return fetch(url, init);
  }
}

/** A request's answer as the child-server tests read it: the body parsed when it is JSON. */
export interface ChildAnswer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

/** A client of a server in its own process (a child, the executable): `req(method, path, body?, tenant?, headers?)` under the API's base path, with `token`. */
export function childClient(url: string, token: string) {
  return async function req(method: string, path: string, body?: unknown, tenant = 'demo', extraHeaders: Record<string, string> = {}): Promise<ChildAnswer> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'x-stella-tenant': tenant, ...extraHeaders };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await send(url + BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed as any, text, headers: res.headers };
  };
}
