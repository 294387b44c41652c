/**
 * Serves the web console (CONTRACT §13) beside the API, outside its base path and its route
 * table (nothing here is tenant-scoped or needs a token): `GET /` redirects to `/console/`,
 * `/console/` is index.html (never cached), `/console/assets/<name>-<hash>.<ext>` are
 * immutable. Every answer has the console's strict CSP; errors are the API's envelope (404
 * for an unknown console path, 405 for another method) with `traceparent`, since the app's
 * shared middleware runs first. See docs/CONSOLE.md.
 *
 * @example
 * const app = createApp(deps, routes);
 * mountConsole(app, { devToken: config.dev ? () => mintDevToken() : undefined, host: config.host });
 */
import type { Context, Hono } from 'hono';
import { ApiError } from '../core/index.js';
import { namedRoute } from '../http/index.js';
import { HEAD_SLOT, loadConsoleAssets, type ConsoleAsset } from './assets.js';

/** The console's Content-Security-Policy: its own origin only, no inline code, no framing. */
export const CONSOLE_CSP = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const DEV_TOKEN_PATH = '/console/dev-token';
/** The console's route templates, as the request log and the HTTP metrics name them. */
export const CONSOLE_ROUTES = ['/', '/console', '/console/', '/console/assets/{file}', DEV_TOKEN_PATH] as const;

export interface ConsoleOptions {
  /** Only with `--dev`: mints the one-click sign-in token (`POST /console/dev-token`). */
  devToken?: () => Promise<{ token: string; tenant: string }>;
  /** The `--host` the server listens on (accepted as a Host header by the dev sign-in). */
  host: string;
}

function secure(res: Response): Response {
  res.headers.set('content-security-policy', CONSOLE_CSP);
  res.headers.set('cross-origin-opener-policy', 'same-origin');
  return res;
}

function acceptsGzip(c: Context): boolean {
  return /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
}

function assetResponse(c: Context, a: ConsoleAsset): Response {
  const headers: Record<string, string> = { 'content-type': a.type, 'cache-control': IMMUTABLE, etag: a.etag, vary: 'Accept-Encoding' };
  const inm = c.req.header('if-none-match');
  if (inm && inm.split(',').some((t) => t.trim() === a.etag)) return new Response(null, { status: 304, headers });
  const gz = acceptsGzip(c);
  if (gz) headers['content-encoding'] = 'gzip';
  const body = gz ? a.gzip : a.body;
  headers['content-length'] = String(body.byteLength);
  return new Response(new Uint8Array(body), { status: 200, headers });
}

const LOOPBACK = /^(127(?:\.\d{1,3}){3}|\[::1\]|localhost)$/i;

/**
 * The dev token goes only to the console's own page on this machine: the Host must be a
 * loopback name or the configured `--host` (a DNS-rebinding page has another Host), and an
 * Origin, when sent, must be this very origin. Anything else is answered as if the endpoint
 * did not exist.
 */
function sameMachine(c: Context, host: string): boolean {
  const url = new URL(c.req.url);
  const name = url.hostname;
  const configured = host.includes(':') ? `[${host}]` : host;
  if (!LOOPBACK.test(name) && name.toLowerCase() !== configured.toLowerCase()) return false;
  const origin = c.req.header('origin');
  if (origin !== undefined && origin !== url.origin) return false;
  const site = c.req.header('sec-fetch-site');
  return site === undefined || site === 'same-origin';
}

const notFound = () => new ApiError('NOT_FOUND', 'no such console page');

export function mountConsole(app: Hono, opts: ConsoleOptions): void {
  const devMeta = opts.devToken ? `<meta name="stella-dev-signin" content="${DEV_TOKEN_PATH}">` : '';
  app.get('/', namedRoute('/'), (c) => secure(c.redirect('/console/', 302)));
  app.get('/console', namedRoute('/console'), (c) => secure(c.redirect('/console/', 301)));
  app.get('/console/', namedRoute('/console/'), async (c) => {
    const { index } = await loadConsoleAssets();
    return secure(c.html(index.replace(HEAD_SLOT, devMeta), 200, { 'cache-control': 'no-store' }));
  });
  app.get('/console/assets/:file', namedRoute('/console/assets/{file}'), async (c) => {
    const { assets } = await loadConsoleAssets();
    const a = assets.get(`assets/${c.req.param('file')}`);
    if (!a) throw notFound();
    return secure(assetResponse(c, a));
  });
  const devToken = opts.devToken;
  if (devToken) {
    app.post(DEV_TOKEN_PATH, namedRoute(DEV_TOKEN_PATH), async (c) => {
      if (!sameMachine(c, opts.host)) throw notFound();
      return secure(c.json(await devToken(), 200, { 'cache-control': 'no-store' }));
    });
  }
  // Anything else under /console: the envelope, with the console's headers.
  app.all('/console/*', async (c) => {
    const path = new URL(c.req.url).pathname;
    const known = path === '/console/' || (path.startsWith('/console/assets/') && (await loadConsoleAssets()).assets.has(path.slice(9)));
    const dev = devToken !== undefined && path === DEV_TOKEN_PATH;
    if (known || dev) {
      const allowed = dev ? 'POST' : 'GET, HEAD';
      throw new ApiError('METHOD_NOT_ALLOWED', `method ${c.req.method} is not allowed here`, { allowed: allowed.split(', ') });
    }
    throw notFound();
  });
}
