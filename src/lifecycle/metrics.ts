/**
 * Lifecycle metrics on the server's registry (CONTRACT §12):
 * `orchestrator_retention_pruned_total{kind}` (runs, steps, attempts, events, idempotency,
 * artifacts), `orchestrator_artifacts_bytes` (bytes in the artifact store, counted once at
 * start and kept current by every put and removal) and
 * `orchestrator_backup_last_success_timestamp_seconds`.
 *
 * @example
 * const m = new LifecycleMetrics(ops.metrics.registry);
 * const cas = new ArtifactStore(dir, { onChange: m.artifactBytesChanged });
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ArtifactStore } from '../artifacts/index.js';
import type { PrunedKind } from './prune.js';

export class LifecycleMetrics {
  private readonly prunedTotal: Counter<'kind'>;
  private readonly lastBackup: Gauge;
  private bytes = 0;
  /** Changes seen before the initial count finished; added to it. */
  private counted = false;
  private pending = 0;

  constructor(registry: Registry) {
    const registers = [registry];
    this.prunedTotal = new Counter({
      name: 'orchestrator_retention_pruned_total',
      help: 'Records deleted by retention and artifact collection, by kind',
      labelNames: ['kind'],
      registers,
    });
    for (const k of ['runs', 'steps', 'attempts', 'events', 'idempotency', 'artifacts'] as const) this.prunedTotal.inc({ kind: k }, 0);
    const self = this;
    new Gauge({
      name: 'orchestrator_artifacts_bytes',
      help: 'Bytes held in the artifact store',
      registers,
      collect() {
        this.set(self.bytes);
      },
    });
    this.lastBackup = new Gauge({
      name: 'orchestrator_backup_last_success_timestamp_seconds',
      help: 'When the last successful backup of the data folder was taken (Unix time; 0: never)',
      registers,
    });
    this.lastBackup.set(0);
  }

  pruned = (kind: PrunedKind, n: number): void => {
    if (n > 0) this.prunedTotal.inc({ kind }, n);
  };

  /** The artifact store's `onChange`. */
  artifactBytesChanged = (delta: number): void => {
    if (this.counted) this.bytes += delta;
    else this.pending += delta;
  };

  /** Walks the store once for the starting total. */
  async countArtifacts(cas: ArtifactStore): Promise<void> {
    let total = 0;
    for await (const o of cas.objects()) total += o.size;
    this.bytes = total + this.pending;
    this.counted = true;
  }

  backupSucceeded(ms: number): void {
    this.lastBackup.set(Math.floor(ms / 1000));
  }
}
