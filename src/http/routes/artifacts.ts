/**
 * `GET /artifacts/{hash}` (CONTRACT §5): the bytes of an artifact the caller's tenant owns.
 * The hash (`<64 hex>` or `sha256:<64 hex>`, lowercase) is checked before any file access;
 * anything else — a malformed hash, `..%2F` tricks, NUL bytes, uppercase hex, another tenant's
 * artifact, a missing one — is the same 404 NOT_FOUND. Content is immutable: strong ETag,
 * `Cache-Control: private, max-age=31536000, immutable` (an artifact is its owners' only: never
 * for a shared cache; see `middleware/caching.ts`), `If-None-Match` → 304.
 */
import { Readable } from 'node:stream';
import { z } from 'zod';
import { ApiError, HASH_RE } from '../../core/index.js';
import type { TenantArtifactReader } from '../../artifacts/index.js';
import { defineRoute, pathParam } from '../route.js';

declare module '../deps.js' {
  interface Services {
    artifacts: TenantArtifactReader;
  }
}

export const CACHE_CONTROL = 'private, max-age=31536000, immutable';

/** The bare lowercase hex of `<hex>` or `sha256:<hex>`, or null. */
export function parseArtifactHash(raw: string): string | null {
  const hex = raw.startsWith('sha256:') ? raw.slice(7) : raw;
  return HASH_RE.test(hex) ? hex : null;
}

/** Whether an If-None-Match header value matches the entity tag of `hash`. */
export function etagMatches(header: string | undefined, hash: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === `"${hash}"`;
  });
}

export const getArtifact = defineRoute({
  method: 'GET',
  path: '/artifacts/{hash}',
  operationId: 'getArtifact',
  summary: 'Bytes of an artifact your tenant owns (hash or sha256:hash)',
  scope: 'orchestrator:read',
  tenant: true,
  params: z.object({
    hash: pathParam(z.string().regex(/^(sha256:)?[0-9a-f]{64}$/, 'a SHA-256 (64 lowercase hex), optionally sha256:-prefixed'), 'artifact not found'),
  }),
  responses: {
    200: { mediaType: '*/*', description: 'the artifact bytes, with its stored media type', headers: ['ETag', 'Cache-Control'] },
    304: { mediaType: '*/*', description: 'If-None-Match matched: not modified', headers: ['ETag', 'Cache-Control'] },
  },
  async handler(ctx) {
    const missing = () => new ApiError('NOT_FOUND', 'artifact not found');
    const hash = parseArtifactHash(ctx.params.hash);
    if (hash === null) throw missing();
    const artifacts = ctx.deps.services.artifacts;
    if (!(await artifacts.owns(ctx.tenant, hash))) throw missing();
    const headers: Record<string, string> = { etag: `"${hash}"`, 'cache-control': CACHE_CONTROL };
    if (etagMatches(ctx.hono.req.header('if-none-match'), hash)) return new Response(null, { status: 304, headers });
    const found = await artifacts.open(ctx.tenant, hash);
    if (!found) throw missing();
    headers['content-type'] = found.mediaType;
    headers['content-length'] = String(found.size);
    headers['x-content-type-options'] = 'nosniff';
    return new Response(Readable.toWeb(found.stream) as ReadableStream<Uint8Array>, { status: 200, headers });
  },
});

export const artifactRoutes = [getArtifact];
