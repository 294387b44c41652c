/**
 * The routes whose every answer is plain JSON (GET, no stream, no bytes: `GET /runs/{runId}`, a
 * page of `GET /runs`, …) answered on node's own request and response, without Hono's router,
 * its `Context` and `@hono/node-server`'s `Request`/`Response` objects (issue #20: the read
 * path). The conventions are not written again: the same middleware (`answering`,
 * `requestLog`), the same pipeline (`routedHandler`: auth, tenant, scope, rate limit,
 * validation, envelope, conformance) and the same error answer (`answerError`) run on a
 * {@link PlainContext}, the few members of Hono's `Context` they use. Every other request
 * (another method, a stream, artifacts, the console, an unusual URL) goes to the Hono app as
 * before.
 *
 * @example
 * const plain = plainAnswers(deps, routes);
 * server.on('request', (req, res) => plain(req, res) || honoListener(req, res));
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { getQueryParams } from 'hono/utils/url';
import { API_BASE } from '../core/index.js';
import type { AppDeps } from './deps.js';
import { answerError, routedHandler } from './app.js';
import { answering, answerParts, WRITES_PARTS } from './middleware/answer.js';
import { AnswerBuffers } from './answer-buffers.js';
import { JsonParts } from './json-parts.js';
import { requestLog } from './middleware/request-log.js';
import { compileMatcher, type Matcher } from './match.js';
import { jsonSchemaOf, type RouteDef } from './route.js';

/** A path (and query) node takes as Hono would, with nothing to normalize (no dot segment, no `//`). */
const PLAIN_URL = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/;
const ODD_PATH = /\/\.|\/\/|%2e/i;

/** Every declared answer of the route is JSON (a schema), so its answers are built whole (answer.ts). */
function answersPlainJson(route: RouteDef): boolean {
  return route.method === 'GET' && Object.values(route.responses).every((r) => jsonSchemaOf(r) !== undefined);
}

/** What the middleware, the pipeline and the envelope use of Hono's `Context`, on node's request. */
class PlainContext {
  readonly req: PlainRequest;
  res: Response | undefined = undefined;
  private readonly vars = new Map<string, unknown>([[WRITES_PARTS, true]]);
  constructor(incoming: IncomingMessage, outgoing: ServerResponse, url: string) {
    this.req = new PlainRequest(incoming, outgoing, url);
  }
  get(key: string): unknown {
    return this.vars.get(key);
  }
  set(key: string, value: unknown): void {
    this.vars.set(key, value);
  }
}

class PlainRequest {
  private controller: AbortController | undefined;
  constructor(
    private readonly incoming: IncomingMessage,
    private readonly outgoing: ServerResponse,
    readonly url: string,
  ) {}
  get method(): string {
    return 'GET';
  }
  /** As undici's `Headers.get`: every value of the header, joined with ", " (node keeps only the first of some). */
  header(name: string): string | undefined {
    const raw = this.incoming.rawHeaders;
    const lower = name.toLowerCase();
    let out: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.length === lower.length && raw[i]!.toLowerCase() === lower) out = out === undefined ? raw[i + 1]! : `${out}, ${raw[i + 1]!}`;
    }
    return out;
  }
  queries(): Record<string, string[]> {
    return getQueryParams(this.url) as Record<string, string[]>;
  }
  /** Only the signal (a GET has no body): aborted when the client goes before the answer. */
  get raw(): { signal: AbortSignal } {
    if (this.controller === undefined) {
      const controller = (this.controller = new AbortController());
      this.outgoing.once('close', () => {
        if (!this.outgoing.writableFinished) controller.abort(new Error('the client closed the connection'));
      });
    }
    return { signal: this.controller.signal };
  }
}

type Handler = (c: Context, next: () => Promise<void>) => Promise<Response | void>;
interface Candidate {
  /** The template's first segment when it is a literal (`runs`, `runs:export`), null for a parameter. */
  first: string | null;
  match: Matcher;
  plain: boolean;
  handler: Handler;
}

function firstSegment(template: string): string | null {
  const seg = template.split('/')[1] ?? '';
  return seg.startsWith('{') ? null : seg;
}

/**
 * The node request listener of the plain JSON routes: true when it took the request (and
 * answers it), false when the Hono app must (see the module doc).
 */
export function plainAnswers(deps: AppDeps, routes: readonly RouteDef[]): (req: IncomingMessage, res: ServerResponse) => boolean {
  // In the table's order, as Hono tries them: the first GET route whose matcher takes the path serves it.
  const gets: Candidate[] = routes
    .filter((r) => r.method === 'GET')
    .map((r) => ({ first: firstSegment(r.path), match: compileMatcher(r, routes), plain: answersPlainJson(r), handler: routedHandler(deps, r, routes) as Handler }));
  // Those a path's first segment can be (a literal equal to it, or a parameter), still in table order.
  const byFirst = new Map<string, Candidate[]>();
  for (const g of gets) if (g.first !== null) byFirst.set(g.first, gets.filter((o) => o.first === g.first || o.first === null));
  const paramFirst = gets.filter((o) => o.first === null);
  const outer = answering() as unknown as Handler;
  const log = requestLog(deps) as unknown as Handler;
  const onError = answerError(deps);
  const base = API_BASE + '/';
  const buffers = new AnswerBuffers();

  return (req, res) => {
    const target = req.url ?? '';
    if (req.method !== 'GET' || !target.startsWith(base) || !PLAIN_URL.test(target)) return false;
    const q = target.indexOf('?');
    const pathOnly = q < 0 ? target : target.slice(0, q);
    if (ODD_PATH.test(pathOnly)) return false;
    const path = pathOnly.slice(API_BASE.length);
    const slash = path.indexOf('/', 1);
    const route = (byFirst.get(slash < 0 ? path.slice(1) : path.slice(1, slash)) ?? paramFirst).find((g) => g.match(path) !== null);
    if (route === undefined || !route.plain) return false;
    const host = firstHost(req.rawHeaders);
    if (host === undefined || !/^[A-Za-z0-9.\-:[\]]+$/.test(host)) return false;
    const c = new PlainContext(req, res, `http://${host}${target}`);
    const hc = c as unknown as Context;
    // No closure made here is bound to a name: the bundle (keepNames) would name each one with
    // Object.defineProperty, on every request.
    void outer(hc, () => log(hc, () => answer(c, route.handler, onError)) as Promise<void>)
      .then(() => write(c.res!, res, buffers))
      .catch((e: unknown) => {
        deps.logger.error({ err: e }, 'unhandled error while answering a request');
        res.destroy();
      });
    return true;
  };
}

/** The route's answer, or the error answer of what it threw, as the context's `res`. */
async function answer(c: PlainContext, handler: Handler, onError: (e: unknown, c: Context) => Response): Promise<void> {
  const hc = c as unknown as Context;
  try {
    c.res = (await handler(hc, noNext)) ?? c.res;
  } catch (e) {
    c.res = onError(e, hc);
  }
}

/** The `next` of a route's handler on the plain path: no route after it. */
async function noNext(): Promise<void> {}

/** The first Host header, as node's `req.headers.host` (read without building every header). */
function firstHost(raw: string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') return raw[i + 1];
  return undefined;
}

/**
 * Writes an answer as @hono/node-server writes one it can read whole (status, plain headers,
 * bytes); a body of parts is copied into a reused buffer (answer-buffers.ts), given back when
 * node has handed the whole answer to the kernel.
 */
async function write(answer: Response, res: ServerResponse, buffers: AnswerBuffers): Promise<void> {
  const parts = answerParts(answer);
  if (parts !== undefined) {
    const { status, headers } = parts;
    let body = parts.body;
    if (body === null) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    if (body instanceof JsonParts) {
      const out = buffers.take(body.byteLength);
      body = out.subarray(0, body.copyTo(out));
      res.once('finish', () => buffers.give(out));
    }
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    res.writeHead(status, hasLength(headers) || setLength(res, status, length) ? headers : { ...headers, 'Content-Length': length });
    res.end(body);
    return;
  }
  // Not built by answerResponse (no route of this path answers so): written from the Response.
  const bytes = answer.body === null ? null : new Uint8Array(await answer.arrayBuffer());
  const headers: Record<string, string> = {};
  answer.headers.forEach((v, k) => (headers[k] = v));
  if (bytes !== null && headers['content-length'] === undefined) headers['content-length'] = String(bytes.byteLength);
  res.writeHead(answer.status, headers);
  res.end(bytes ?? undefined);
}

/**
 * The length node writes itself, after its own headers, as @hono/node-server has it do (its
 * `trySetContentLength`): the same bytes on the wire as an answer that went through the app.
 */
function setLength(res: ServerResponse, status: number, length: number): boolean {
  const r = res as ServerResponse & { _contentLength: number | null; _hasBody: boolean; useChunkedEncodingByDefault: boolean; _removedContLen: boolean };
  if (r._contentLength !== null || !r._hasBody || !r.useChunkedEncodingByDefault || r._removedContLen || status < 200 || status === 204 || status === 304) return false;
  if (res.hasHeader('content-length') || res.hasHeader('transfer-encoding') || res.hasHeader('trailer')) return false;
  r._contentLength = length;
  return true;
}

function hasLength(headers: Record<string, string>): boolean {
  for (const k in headers) if (k.length === 14 && k.toLowerCase() === 'content-length') return true;
  return false;
}

