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
