/**
 * What the HTTP edge may do with a tenant's artifacts: the port the artifact routes call,
 * implemented by the engine's `TenantArtifacts` (which checks ownership in the store), so the
 * edge imports neither the engine nor the store.
 *
 * @example
 * if (await artifacts.owns(tenant, hash)) (await artifacts.open(tenant, hash))?.stream.pipe(res);
 */
import type { ReadStream } from 'node:fs';

export interface TenantArtifactReader {
  /** Whether the tenant owns the hash (no file access). */
  owns(tenant: string, hash: string): Promise<boolean>;
  /** The tenant's artifact as a stream with its size and media type; null when malformed, not the tenant's, or gone. */
  open(tenant: string, hash: string): Promise<{ size: number; mediaType: string; stream: ReadStream } | null>;
}
