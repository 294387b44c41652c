/**
 * Artifact garbage collection by reference (CONTRACT §12, docs/OPERATIONS.md). Two phases:
 *
 * 1. Ownership: a tenant's `artifacts` row is deleted when no `artifact_refs` row names it
 *    (no kept run wrote it, no kept run's inputs, outputs or logs name it, no DAG version names
 *    it) and it is older than the grace period. The DELETE re-checks both itself.
 * 2. Files: an object in the content-addressed store is deleted when no tenant owns it, it is
 *    older than the grace period (by modification time: a put of existing bytes touches it),
 *    and no backup is reading the folder; all three are checked again, with puts of the same
 *    hash held off, right before the unlink (`ArtifactStore.remove`).
 *
 * Safe against crashes by order: rows go before files, and a file goes only when no row names
 * it, so a crash at any point leaves at worst an unowned file (collected by a later pass) and
 * never a row that names a missing file. Safe against running steps by the grace period: an
 * object a step just wrote is younger than it until its owner's row commits.
 *
 * @example
 * const r = await collectArtifacts({ ports, cas, clock, graceMs: 3_600_000, dataDir }, '*');
 */
import type { ArtifactStore } from '../artifacts/index.js';
import type { Clock } from '../core/index.js';
import type { StorePorts } from '../store/index.js';
import { backupRunning } from './markers.js';
import { Batcher, nextTurn, type PrunedKind } from './prune.js';

export interface GcDeps {
  ports: StorePorts;
  cas: ArtifactStore;
  clock: Clock;
  /** Objects and ownership rows younger than this are kept. */
  graceMs: number;
  /** The data folder (for backup markers). */
  dataDir: string;
  pause?: () => Promise<void>;
  onPruned?(kind: PrunedKind, n: number): void;
}

export interface GcReport {
  /** Ownership rows released, by tenant. */
  released: Record<string, number>;
  /** Objects deleted from the store, and their bytes (installation-wide). */
  objects: number;
  bytes: number;
  /** Bytes of the objects kept, counted while walking the store. */
  keptBytes: number;
  /** Set when a backup was running: no file was deleted. */
  deferred?: 'backup running';
}

const PAGE = 500;

/** One collection: ownership of `tenants` ('*': all), then unowned files of the whole store. */
export async function collectArtifacts(d: GcDeps, tenants: '*' | readonly string[]): Promise<GcReport> {
  const pause = d.pause ?? nextTurn;
  const report: GcReport = { released: {}, objects: 0, bytes: 0, keptBytes: 0 };
  const before = d.clock.now() - d.graceMs;
  const batcher = new Batcher(pause);
  for (const tenant of tenants === '*' ? [undefined] : tenants) {
    let after = { tenant: tenant ?? '', hash: '' };
    for (;;) {
      const page = await d.ports.retention.ownedPage(after, PAGE, tenant);
      if (page.length === 0) break;
      after = page[page.length - 1]!;
      const candidates = page.filter((r) => r.referenced === 0 && r.createdMs < before);
      await batcher.each(candidates, async (batch) => {
        const released = await d.ports.transaction(async (tx) => {
          const out: string[] = [];
          for (const r of batch) if (await tx.retention.deleteIfUnreferenced(r.tenant, r.hash, before)) out.push(r.tenant);
          return out;
        });
        for (const t of released) report.released[t] = (report.released[t] ?? 0) + 1;
      });
      if (page.length < PAGE) break;
      await pause();
    }
  }
  const graceMs = d.graceMs;
  let n = 0;
  for await (const o of d.cas.objects()) {
    if (++n % 256 === 0) await pause();
    if (o.ageMs <= graceMs || (await d.ports.retention.ownedByAnyone(o.hash))) {
      report.keptBytes += o.size;
      continue;
    }
    if (backupRunning(d.dataDir)) {
      report.deferred = 'backup running';
      report.keptBytes += o.size;
      continue;
    }
    const freed = await d.cas.remove(o.hash, async (age) => age > graceMs && !(await d.ports.retention.ownedByAnyone(o.hash)) && !backupRunning(d.dataDir));
    if (freed !== null) {
      report.objects++;
      report.bytes += freed;
      d.onPruned?.('artifacts', 1);
    } else report.keptBytes += o.size;
  }
  return report;
}
