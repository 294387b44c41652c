/**
 * Artifacts as tenants see them: bytes in the content-addressed store, ownership (and the
 * writing run's reference) through the store's artifact index port. A plugin's `ctx.writeArtifact` stores the bytes (durably) and then records that the
 * run's tenant owns them; `ctx.readArtifact` and `GET /artifacts/{hash}` read only what the
 * tenant owns, and answer anything else exactly like a missing artifact.
 *
 * @example
 * const artifacts = new TenantArtifacts(ports, new ArtifactStore(join(dataDir, 'artifacts')), clock);
 * const pool = new WorkerPool({ registry, artifacts, perWorkerConcurrency: 64 });
 * const found = await artifacts.open('demo', hash); // null unless demo owns it
 */
import type { ReadStream } from 'node:fs';
import type { ArtifactStore } from '../../artifacts/index.js';
import { HASH_RE, type Clock } from '../../core/index.js';
import type { ArtifactRow, StorePorts } from '../../store/index.js';
import type { ArtifactIO, ArtifactSink, TaskMeta } from './pool-types.js';

export class TenantArtifacts implements ArtifactIO {
  constructor(
    private readonly ports: StorePorts,
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
    await this.own({ tenant, hash, size, mediaType, createdMs: this.clock.now() }, holder);
    return hash;
  }

  /** Ownership and the holder's reference, in one transaction. */
  private own(row: ArtifactRow, holder: string | undefined): Promise<void> {
    return this.ports.transaction(async (tx) => {
      await tx.artifacts.own(row);
      if (holder !== undefined) await tx.artifacts.addRefs([{ tenant: row.tenant, hash: row.hash, holder }]);
    });
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
        await this.own({ tenant: task.tenant, hash, size, mediaType, createdMs: this.clock.now() }, task.runId);
        return hash;
      },
      abort: () => w.abort(),
    };
  }

  async read(task: TaskMeta, hash: string): Promise<Uint8Array | null> {
    if (!HASH_RE.test(hash) || !(await this.ports.artifacts.owns(task.tenant, hash))) return null;
    return this.cas.get(hash);
  }

  /**
   * The tenant's artifact as a stream with its size and media type, or null when the hash is
   * malformed, not owned by the tenant, or gone. The hash is checked before any file access.
   */
  async open(tenant: string, hash: string): Promise<{ size: number; mediaType: string; stream: ReadStream } | null> {
    if (!HASH_RE.test(hash)) return null;
    const owned = await this.ports.artifacts.owns(tenant, hash);
    if (!owned) return null;
    const s = await this.cas.stream(hash);
    return s ? { size: s.size, mediaType: owned.mediaType, stream: s.stream } : null;
  }

  /** Whether the tenant owns the hash (no file access). */
  async owns(tenant: string, hash: string): Promise<boolean> {
    return HASH_RE.test(hash) && (await this.ports.artifacts.owns(tenant, hash)) !== undefined;
  }
}
