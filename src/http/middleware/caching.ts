/**
 * Caching of answers to authenticated routes, written once for the whole route table (applied
 * by middleware/answer.ts): such an answer belongs to one caller and one tenant, so no shared
 * cache (a proxy, a CDN) may keep it and no cache may hand it to another token or tenant. Every
 * answer of a route that takes a token — success, 304, error envelope — gets:
 *
 * - `Cache-Control` with `private` (a route's own directives stay — the artifacts' `max-age`
 *   and `immutable`, the streams' `no-store` — but `public` and `s-maxage` are dropped; a
 *   route that says nothing gets `private, no-store`);
 * - `Vary: Authorization, X-Stella-Tenant` (merged with any `Vary` the route set).
 *
 * @example
 * privateCacheControl('public, max-age=31536000, immutable') // 'private, max-age=31536000, immutable'
 */

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
