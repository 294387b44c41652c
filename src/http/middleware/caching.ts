/**
 * Caching of answers to authenticated routes, written once for the whole route table: such an
 * answer belongs to one caller and one tenant, so no shared cache (a proxy, a CDN) may keep it
 * and no cache may hand it to another token or tenant. Every answer of a route that takes a
 * token — success, 304, error envelope — gets:
 *
 * - `Cache-Control` with `private` (a route's own directives stay — the artifacts' `max-age`
 *   and `immutable`, the streams' `no-store` — but `public` and `s-maxage` are dropped; a
 *   route that says nothing gets `private, no-store`);
 * - `Vary: Authorization, X-Stella-Tenant` (merged with any `Vary` the route set).
 *
 * @example
 * app.on('GET', '/api/v1/orchestrator/runs', privateCaching(), handler);
 * privateCacheControl('public, max-age=31536000, immutable') // 'private, max-age=31536000, immutable'
 */
import type { MiddlewareHandler } from 'hono';

/** What an authenticated answer that sets no `Cache-Control` of its own gets. */
export const DEFAULT_PRIVATE_CACHE_CONTROL = 'private, no-store';
export const PRIVATE_VARY = ['Authorization', 'X-Stella-Tenant'] as const;

const SHARED_ONLY = /^(public|s-maxage\s*=.*|proxy-revalidate)$/i;

/** The route's `Cache-Control` made private (see the module comment). */
export function privateCacheControl(value: string | null): string {
  const directives = (value ?? '').split(',').map((d) => d.trim()).filter((d) => d !== '' && !SHARED_ONLY.test(d));
  if (directives.length === 0) return DEFAULT_PRIVATE_CACHE_CONTROL;
  if (!directives.some((d) => d.toLowerCase() === 'private')) directives.unshift('private');
  return directives.join(', ');
}

/** `Vary` with Authorization and X-Stella-Tenant added (case-insensitively, once). */
export function privateVary(value: string | null): string {
  const names = (value ?? '').split(',').map((v) => v.trim()).filter(Boolean);
  if (names.includes('*')) return '*';
  for (const n of PRIVATE_VARY) if (!names.some((x) => x.toLowerCase() === n.toLowerCase())) names.push(n);
  return names.join(', ');
}

/** Middleware for every route that takes a token: applied after the handler or the error envelope. */
export function privateCaching(): MiddlewareHandler {
  return async function privateCaching(c, next) {
    await next();
    try {
      const h = c.res.headers;
      h.set('Cache-Control', privateCacheControl(h.get('cache-control')));
      h.set('Vary', privateVary(h.get('vary')));
    } catch {
      // Immutable headers: only a 101 upgrade answer has them, and it carries no body to cache.
    }
  };
}
