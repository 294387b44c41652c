/**
 * Artifacts as tenants see them: bytes in the content-addressed store, ownership in the
 * database. A plugin's `ctx.writeArtifact` stores the bytes (durably) and then records that the
 * run's tenant owns them; `ctx.readArtifact` and `GET /artifacts/{hash}` read only what the
 * tenant owns, and answer anything else exactly like a missing artifact.
 *
 * @example
 * const artifacts = new TenantArtifacts(store, new ArtifactStore(join(dataDir, 'artifacts')), clock);
 * const pool = new WorkerPool({ registry, artifacts, perWorkerConcurrency: 64 });
 * const found = await artifacts.open('demo', hash); // null unless demo owns it
 */
import type { ReadStream } from 'node:fs';
import type { ArtifactStore } from '../../artifacts/index.js';
import { HASH_RE, type Clock } from '../../core/index.js';
import type { Store } from '../../store/index.js';
import type { ArtifactIO, ArtifactSink, TaskMeta } from './pool-types.js';

export class TenantArtifacts implements ArtifactIO {
  constructor(
    private readonly store: Store,
    readonly cas: ArtifactStore,
    private readonly clock: Clock,
  ) {}

  /**
   * Stores bytes for a tenant; returns their hash. `holder` (the writing run's id) is recorded
   * as a reference in the same transaction as the ownership, so garbage collection keeps the
   * artifact as long as that run is kept.
   */
  async put(tenant: string, bytes: Uint8Array | string, mediaType: string, holder?: string): Promise<string> {
    const { hash, size } = await this.cas.put(bytes);
    this.store.tx(() => {
      this.store.artifacts.insert({ tenant, hash, size, mediaType, createdMs: this.clock.now() });
      if (holder !== undefined) this.store.refs.add(tenant, hash, holder);
    });
    return hash;
  }

  write(task: TaskMeta, bytes: Uint8Array, mediaType: string): Promise<string> {
    return this.put(task.tenant, bytes, mediaType, task.runId);
  }

  /** A streaming write for the task's tenant (exec stdout, large writes): bounded memory. */
  async openWrite(task: TaskMeta): Promise<ArtifactSink> {
    const w = await this.cas.writer();
    return {
      write: (bytes) => w.write(bytes),
      commit: async (mediaType) => {
        const { hash, size } = await w.commit();
        // The writing run keeps it (artifact collection), recorded with the ownership.
        this.store.tx(() => {
          this.store.artifacts.insert({ tenant: task.tenant, hash, size, mediaType, createdMs: this.clock.now() });
          this.store.refs.add(task.tenant, hash, task.runId);
        });
        return hash;
      },
      abort: () => w.abort(),
    };
  }

  async read(task: TaskMeta, hash: string): Promise<Uint8Array | null> {
    if (!HASH_RE.test(hash) || !this.store.artifacts.owns(task.tenant, hash)) return null;
    return this.cas.get(hash);
  }

  /**
   * The tenant's artifact as a stream with its size and media type, or null when the hash is
   * malformed, not owned by the tenant, or gone. The hash is checked before any file access.
   */
  async open(tenant: string, hash: string): Promise<{ size: number; mediaType: string; stream: ReadStream } | null> {
    if (!HASH_RE.test(hash)) return null;
    const owned = this.store.artifacts.owns(tenant, hash);
    if (!owned) return null;
    const s = await this.cas.stream(hash);
    return s ? { size: s.size, mediaType: owned.mediaType, stream: s.stream } : null;
  }

  /** Whether the tenant owns the hash (no file access). */
  owns(tenant: string, hash: string): boolean {
    return HASH_RE.test(hash) && this.store.artifacts.owns(tenant, hash) !== undefined;
  }
}
