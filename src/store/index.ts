/**
 * The store: the only code that knows SQL. One writer connection on the main thread.
 *
 * @example
 * const store = Store.open({ dataDir: './data' });
 * store.tx(() => store.dags.insert(row));
 */
import type Database from 'better-sqlite3';
import { openDb, type Db, type OpenOptions } from './db.js';
import { DagQueries } from './dags.js';
import { IdempotencyQueries } from './idempotency.js';
import { RunQueries } from './runs.js';
import { EventLog } from './events.js';
import { ArtifactQueries } from './artifacts.js';
import { ArtifactRefQueries } from './refs.js';
import { RetentionQueries } from './retention.js';
import { EndedViews } from './ended-views.js';
import { ScheduleQueries } from './schedules.js';
import { Checkpointer, type CheckpointerOptions, type CheckpointLog } from './checkpointer.js';
import { CatalogQueries } from './catalog.js';
import { LeaseQueries } from './leases.js';
import { SettingsQueries } from './settings.js';
import { snapshot, type SnapshotOptions } from './snapshot.js';

export { DataDirLockedError, takeLock, SchemaTooNew, SchemaUpgradeRequired, SCHEMA, dataDirSchemaVersion } from './db.js';
export type { OwnedRow } from './refs.js';
export type { PolicyRow, RunKey, PrunedCounts } from './retention.js';
export * as snapshots from './snapshot.js';
export type { DagVersionRow, DagListFilter } from './dags.js';
export type { IdempotencyRow, IdemKey } from './idempotency.js';
export { IdempotencyLedger, type IdemClaim, type RecordedAnswer } from './ledger.js';
export type { RunRow, StepRow, AttemptRow, RunListFilter } from './runs.js';
export { ACTIVE_RUN_STATUSES, ENDED_RUN_STATUSES } from './runs.js';
export type { EventRow, NewEvent, EventType, EventView } from './events.js';
export { eventView, eventHash, eventCanonicalJson, eventExportRecord } from './events.js';
export type { ArtifactRow } from './artifacts.js';
export type { ScheduleRow, ScheduleListFilter, FireState } from './schedules.js';
export type { Checkpointer, CheckpointerOptions, CheckpointLog } from './checkpointer.js';
export type { SchedulePort, RetentionPort, TransferPort, OpsCatalogPort, MaintenancePort, FireExpectation } from './ports.js';
export type { StorePorts, Ports, RunKeyRow, RunHead, DagExportPosition, CommitBatch, RunUpdate, CatalogPort, RunLedgerPort, EventLogPort, IdempotencyPort, ArtifactIndexPort, LeasePort, HeldRun, NodeRow, EventWatch, EventWatchListener } from './ports.js';
export { LeaseLost } from './ports.js';
export { SqlitePorts } from './sqlite-ports.js';
export { EndedViews, type EndedViewKind } from './ended-views.js';
export { MaintenanceUnsupported } from './maintenance.js';
export { txPorts } from './ports.js';

export class Store {
  readonly dags: DagQueries;
  readonly idem: IdempotencyQueries;
  readonly runs: RunQueries;
  readonly events: EventLog;
  readonly artifacts: ArtifactQueries;
  readonly refs: ArtifactRefQueries;
  readonly retention: RetentionQueries;
  readonly schedules: ScheduleQueries;
  /** Cross-tenant reads of ops' cold paths (warm, queue depth fallback). */
  readonly catalog: CatalogQueries;
  /** Run ownership by lease (several nodes; see leases.ts). */
  readonly leases: LeaseQueries;
  /** Values the installation shares (settings.ts). */
  readonly settings: SettingsQueries;
  /**
   * Precomputed views of ended runs (ended-views.ts); retention's delete forgets its runs. Sole
   * when this process holds the data folder's lock: no other writer can delete a run then.
   */
  readonly endedViews: EndedViews;
  /** One transaction function for every `tx` (better-sqlite3 builds its wrappers per `transaction()` call). */
  private readonly inTx: Database.Transaction<(fn: () => unknown) => unknown>;
  /** Told of every commit (it starts its thread on demand); set by {@link startBackgroundCheckpoints}. */
  private checkpoints: Checkpointer | null = null;

  private constructor(
    readonly db: Db,
    locked: boolean,
  ) {
    this.endedViews = new EndedViews(undefined, locked);
    this.inTx = db.sqlite.transaction((fn: () => unknown) => fn());
    this.dags = new DagQueries(db.sqlite);
    this.idem = new IdempotencyQueries(db.sqlite);
    this.runs = new RunQueries(db.sqlite);
    this.events = new EventLog(db.sqlite);
    this.artifacts = new ArtifactQueries(db.sqlite);
    this.refs = new ArtifactRefQueries(db.sqlite);
    this.retention = new RetentionQueries(db.sqlite, this.endedViews);
    this.schedules = new ScheduleQueries(db.sqlite);
    this.catalog = new CatalogQueries(db.orm);
    this.leases = new LeaseQueries(db.sqlite);
    this.settings = new SettingsQueries(db.sqlite);
  }

  static open(opts: OpenOptions): Store {
    return new Store(openDb(opts), opts.lock !== false && opts.readonly !== true);
  }

  /**
   * Runs `fn` in one transaction (nested calls join the outer one as savepoints). When it
   * throws, the rolled-back appends of the event log are forgotten too (its cached heads).
   */
  tx<T>(fn: () => T): T {
    try {
      const out = this.inTx.immediate(fn) as T;
      this.committed();
      return out;
    } catch (e) {
      this.rolledBack();
      throw e;
    }
  }

  /**
   * After every commit on the writer connection, whoever opened the transaction ({@link tx} or
   * the ports' `transaction`): the checkpointer counts it (it starts its thread on demand).
   */
  committed(): void {
    this.checkpoints?.committed();
  }

  /** After every rollback: the event log's cached heads may name rows that are gone. */
  rolledBack(): void {
    this.events.invalidate();
  }

  /**
   * WAL checkpoints on a background thread from now on, not inside a group commit
   * (`checkpointer.ts`: the thread runs while transactions commit, and retires when idle); null
   * (nothing changed) for an in-memory database. With `log`, says when it first ran (or why it
   * cannot). Stop it before closing.
   */
  startBackgroundCheckpoints(log?: CheckpointLog, opts?: CheckpointerOptions): Checkpointer | null {
    return (this.checkpoints = Checkpointer.start(this.db.sqlite, log, opts));
  }

  /** Runs a trivial query on the writer connection (the health check's liveness probe). */
  ping(): void {
    this.db.sqlite.prepare('select 1').pluck().get();
  }

  /**
   * A transactionally consistent copy of this store's database to `destFile` (which must not
   * exist), in small steps between the server's own transactions (snapshot.ts `source: 'own'`).
   */
  snapshot(destFile: string, onProgress?: SnapshotOptions['onProgress']): Promise<{ pages: number }> {
    return snapshot(this.db.sqlite, destFile, { source: 'own', onProgress });
  }

  integrityCheck(): string {
    return this.db.sqlite.pragma('integrity_check', { simple: true }) as string;
  }

  close(): void {
    this.db.close();
  }
}
