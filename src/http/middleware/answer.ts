/**
 * What every answer carries, written once for the whole app: the trace (`traceparent`,
 * continued or new: trace.ts), the security headers, and on a route that takes a token the
 * private caching headers (caching.ts). One middleware, outermost.
 *
 * An answer the pipeline builds (`answerResponse`) gets all of them when it is made, as one plain
 * header object that @hono/node-server writes as is (and http/plain.ts, from `answerParts`); the
 * middleware then leaves it alone. Any
 * other answer (streams, artifacts, the console, error envelopes, a fetched Response) gets them
 * after the handler, on its `Headers`: a header the handler set itself keeps its value (the
 * console's CSP), and the route's `Cache-Control` and `Vary` are made private. Changing the
 * `Headers` of an answer after the handler is what this saves on the hot path: it makes undici
 * build a `Headers` object and node-server copy it back into a plain one (issue #20).
 *
 * @example
 * app.use('*', answering());
 * markPrivate(c); // in a route's handler that takes a token, before anything can throw
 * return answerResponse(c, 200, json, { etag });
 */
import type { Context, MiddlewareHandler } from 'hono';
import { formatTraceparent, parseTraceparent } from './trace.js';
import { DEFAULT_PRIVATE_CACHE_CONTROL, privateCacheControl, privateVary } from './caching.js';
import { JsonParts } from '../json-parts.js';

/**
 * The security headers (lower case, as they go on the wire), those of hono's `secureHeaders`
 * with: CSP `default-src 'none'; frame-ancestors 'none'`, CORP `same-origin`, no HSTS (the
 * server speaks plain HTTP: HSTS is the TLS-terminating proxy's to send, docs/ops/TLS.md).
 * test/http/answer-headers.test.ts checks the list against that middleware.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
});

const PRIVATE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...SECURITY_HEADERS,
  'cache-control': DEFAULT_PRIVATE_CACHE_CONTROL,
  vary: privateVary(null),
});

/** The context key that says the request is on a route that takes a token. */
const PRIVATE = 'privateAnswer';
/** The context key of headers every answer to the request carries from then on ({@link addAnswerHeaders}). */
const EXTRA = 'answerExtraHeaders';

/** What an answer built whole by `answerResponse` is made of (the middleware adds nothing to it). */
export interface AnswerParts {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array | JsonParts | null;
}

/** The answers built whole by `answerResponse`, with their parts (written as they are by http/plain.ts). */
const complete = new WeakMap<Response, AnswerParts>();

/** The parts of an answer `answerResponse` built, or undefined for any other answer. */
export function answerParts(res: Response): AnswerParts | undefined {
  return complete.get(res);
}

/**
 * The context key of a request whose writer takes a body as {@link JsonParts} (http/plain.ts):
 * its answers' `Response` then carries the status and headers only, and the body is in
 * {@link answerParts} (read it with {@link answerJson}).
 */
export const WRITES_PARTS = 'answerWritesParts';

/** The JSON value of an answer's body, from its parts when `answerResponse` built it (throws when it is not JSON). */
export async function answerJson(res: Response): Promise<unknown> {
  const parts = complete.get(res);
  if (parts === undefined) return res.clone().json();
  const { body } = parts;
  const text = body === null ? '' : typeof body === 'string' ? body : body instanceof JsonParts ? body.text() : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return JSON.parse(text) as unknown;
}

/** The request is on a route that takes a token: its every answer, errors included, is private. */
export function markPrivate(c: Context): void {
  c.set(PRIVATE, true);
}

/** Headers every answer to this request carries from now on, errors included (the rate limit's). */
export function addAnswerHeaders(c: Context, headers: Readonly<Record<string, string>>): void {
  const had = c.get(EXTRA) as Record<string, string> | undefined;
  c.set(EXTRA, had === undefined ? headers : { ...had, ...headers });
}

/**
 * A plain header object with every header of an answer: the security headers, those added for
 * the request ({@link addAnswerHeaders}), then the route's own (lower-cased; they replace a
 * security header of the same name), private caching when the route takes a token, and
 * `traceparent`.
 */
export function answerHeaders(c: Context, own?: Readonly<Record<string, string>>): Record<string, string> {
  const priv = c.get(PRIVATE) === true;
  const h: Record<string, string> = { ...(priv ? PRIVATE_HEADERS : SECURITY_HEADERS) };
  const extra = c.get(EXTRA) as Record<string, string> | undefined;
  if (extra !== undefined) for (const k in extra) h[k.toLowerCase()] = extra[k]!;
  if (own !== undefined) {
    let cache: string | null = null;
    let vary: string | null = null;
    for (const k in own) {
      const name = k.toLowerCase();
      if (name === 'cache-control') cache = own[k]!;
      else if (name === 'vary') vary = own[k]!;
      else if (name !== 'x-powered-by') h[name] = own[k]!;
    }
    if (priv) {
      if (cache !== null) h['cache-control'] = privateCacheControl(cache);
      if (vary !== null) h.vary = privateVary(vary);
    } else {
      if (cache !== null) h['cache-control'] = cache;
      if (vary !== null) h.vary = vary;
    }
  }
  const trace = c.get('trace');
  if (trace !== undefined) h.traceparent = formatTraceparent(trace);
  return h;
}

/** A complete answer (see the module doc): `body` with `headers` and every header of {@link answerHeaders}. */
export function answerResponse(c: Context, status: number, body: string | Uint8Array | JsonParts | null, headers?: Readonly<Record<string, string>>): Response {
  const all = answerHeaders(c, headers);
  // Parts are joined for a writer that takes bytes (the Hono path), not for one that takes parts.
  const bytes = body instanceof JsonParts ? (c.get(WRITES_PARTS) === true ? null : body.join()) : body;
  // The bytes are an ordinary ArrayBuffer's (never a SharedArrayBuffer's): a body as they are.
  const res = new Response(bytes as BodyInit | null, { status, headers: all });
  complete.set(res, { status, headers: all, body });
  return res;
}

/**
 * Adds what {@link answerHeaders} would have to an answer made some other way (see the module
 * doc): the same rules, given the handler's headers as the route's own.
 */
function finish(c: Context): void {
  const res = c.res;
  if (complete.has(res)) return;
  try {
    const h = res.headers;
    const own: Record<string, string> = {};
    h.forEach((v, k) => (own[k] = v));
    const all = answerHeaders(c, own);
    h.delete('x-powered-by');
    for (const k in all) if (own[k] !== all[k]) h.set(k, all[k]!);
  } catch {
    // Immutable headers: only a 101 upgrade answer has them, and it carries no body to cache.
  }
}

/** Continues or starts the trace, and gives every answer its headers (see the module doc). */
export function answering(): MiddlewareHandler {
  return async function answering(c, next) {
    c.set('trace', parseTraceparent(c.req.header('traceparent')));
    await next();
    finish(c);
  };
}
