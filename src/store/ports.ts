/**
 * The storage ports: the narrow interfaces the engine, the services and ops need from a store,
 * implemented by the embedded SQLite store (`sqlite-ports.ts`) and by the PostgreSQL store
 * (`pg/`). Callers import these types from the store's public face (`store/index.ts`).
 *
 * Sync or async (docs/SCALE-OUT.md, "Ports"): every method that reads or writes the database
 * returns a Promise, and nothing returns `T | Promise<T>`. PostgreSQL is a network round trip;
 * SQLite resolves the same Promises without one (the statement runs synchronously, the Promise
 * is already settled). The engine does not pay a Promise per row: it keeps its state in memory
 * and crosses the port once per group commit ({@link StorePorts.commitBatch}), so the next
 * batch builds while one flush is in flight. Requests run their reads and writes in one
 * {@link StorePorts.transaction}.
 *
 * Schedules, retention (with artifact references and GC), run transfer and ops' cross-tenant
 * reads are ports too; SQLite-only maintenance (snapshot, integrity check) is
 * {@link StorePorts.maintenance}. Ports not in this list yet (leases): docs/SCALE-OUT.md, "Next steps".
 *
 * @example
 * const rows = await ports.commitBatch({ runs: [], steps: [], attempts: [], artifacts: [], refs: [], events: [ev] });
 * const run = await ports.transaction(async (tx) => {
 *   await tx.runs.createRun(runRow, [{ stepId: 'a', topoIndex: 0 }]);
 *   await tx.events.append([{ tenant, type: 'run.started', … }]);
 *   return tx.runs.get(tenant, runRow.runId);
 * });
 */
import type { EndedViews } from './ended-views.js';
import type { LeasePort } from './lease-ports.js';
import type { ArtifactRow } from './artifacts.js';
import type { DagListFilter, DagVersionRow } from './dags.js';
import type { EventRow, NewEvent } from './event-view.js';
import type { IdemKey, IdempotencyRow } from './idempotency.js';
import type { AttemptRow, RunListFilter, RunRow, StepRow } from './runs.js';
import type { MaintenancePort, OpsCatalogPort, RetentionPort, SchedulePort, TransferPort } from './lifecycle-ports.js';

import type { TxHandle } from '../core/tx.js';

/** DAG versions (the catalog): immutable versions, only `active` / `disabledMs` change. */
export interface CatalogPort {
  getVersion(tenant: string, dagId: string, version: string): Promise<DagVersionRow | undefined>;
  /**
   * Inserts a new version (active); false when the version exists (nothing written: versions are
   * immutable). Two transactions inserting one version at once: one inserts, the other waits for
   * its outcome (PostgreSQL) and answers false once it committed, so a re-read in the same
   * transaction finds the row.
   */
  insertVersion(row: Omit<DagVersionRow, 'active' | 'disabledMs' | 'disabledBy'>): Promise<boolean>;
  /** True when the version was active and is now disabled. */
  disableVersion(tenant: string, dagId: string, version: string, nowMs: number, by: string | null): Promise<boolean>;
  /** The highest active version by SemVer precedence (`versionKey`). */
  latestActive(tenant: string, dagId: string): Promise<DagVersionRow | undefined>;
  /** One page in (dagId ASC, versionKey DESC) order, after the keyset position. */
  listVersions(f: DagListFilter): Promise<DagVersionRow[]>;
  /** One page of a tenant's versions in export order (createdMs, dagId, versionKey ASC), after the keyset position. */
  exportPage(tenant: string, filter: { dagId?: string; active?: boolean }, after: DagExportPosition | undefined, limit: number): Promise<DagVersionRow[]>;
  /** Every tenant's versions stored before plugin pinning (no pins), oldest first (createdMs, tenant, dagId, versionKey). */
  unpinned(): Promise<DagVersionRow[]>;
  /** Sets the pins of a version that has none (pins never change once set); true when it did. */
  setPins(tenant: string, dagId: string, version: string, pins: string): Promise<boolean>;
}

/** Where a page of {@link CatalogPort.exportPage} ends: its last row's keys. */
export interface DagExportPosition {
  createdMs: number;
  dagId: string;
  versionKey: string;
}

/** A run's new state, as the group commit writes it. */
export interface RunUpdate {
  runId: string;
  status: string;
  outputsHash: string | null;
  endedMs: number | null;
  cancelReason: string | null;
  cancelledBy: string | null;
}

/** The run ledger: runs, their steps and attempts. */
export interface RunLedgerPort {
  /** Inserts a run with its steps (status `pending`, attempt 0). */
  createRun(run: RunRow, steps: ReadonlyArray<{ stepId: string; topoIndex: number }>): Promise<void>;
  /** A run of this tenant; another tenant's run is indistinguishable from a missing one. */
  get(tenant: string, runId: string): Promise<RunRow | undefined>;
  /** What names a run of this tenant (`get`'s answer narrowed to its ids: no other column is read), or undefined. */
  head(tenant: string, runId: string): Promise<RunHead | undefined>;
  /** The run started here with this runToken (imported runs never answer). */
  byToken(tenant: string, runToken: string): Promise<RunRow | undefined>;
  /** Steps in topological order. */
  steps(runId: string): Promise<StepRow[]>;
  /** Every attempt of a run, by step id then attempt. */
  attemptsOfRun(runId: string): Promise<AttemptRow[]>;
  /** Up to `limit` steps after topological position `afterIndex` (-1: from the first), in order. */
  stepsPage(runId: string, afterIndex: number, limit: number): Promise<StepRow[]>;
  /** The attempts of these steps of a run, by step id then attempt. */
  attemptsOfSteps(runId: string, stepIds: readonly string[]): Promise<AttemptRow[]>;
  /** One page of a tenant's runs: `startedMs DESC, runId ASC`, or export order with `afterAsc` / `asc`. */
  list(f: RunListFilter & { asc?: boolean }): Promise<RunRow[]>;
  /** The keys of the same page as `list` (the index alone answers when no status filter is given). */
  listKeys(f: RunListFilter): Promise<RunKeyRow[]>;
  /** These runs of this tenant, in no order (a missing id or another tenant's is left out). */
  getMany(tenant: string, runIds: readonly string[]): Promise<RunRow[]>;
  /** Runs not yet ended, oldest first (recovery). */
  active(): Promise<RunRow[]>;
}

/** The event log: per-tenant `seq` from 1 with no gap, chained by hash (store/event-chain.ts). */
export interface EventLogPort {
  /**
   * Appends events in order, numbering and chaining them per tenant; returns the rows. Runs in
   * the caller's transaction: the events commit with the change they describe, or not at all.
   */
  append(events: readonly NewEvent[]): Promise<EventRow[]>;
  /** A tenant's events after `afterSeq`, by seq. Never shows a later event before an earlier one commits. */
  since(tenant: string, afterSeq: number, limit: number): Promise<EventRow[]>;
  /** Every event of one run, by seq. */
  ofRun(tenant: string, runId: string): Promise<EventRow[]>;
  /**
   * A tenant's last committed event (`seq`, `hash`); when every event was pruned, its retention
   * checkpoint; `{0, ''}` before its first event. Where a live stream without `since` starts.
   */
  head(tenant: string): Promise<{ seq: number; hash: string }>;
}

/** Idempotency-Key records (CONTRACT §3). */
export interface IdempotencyPort {
  get(k: IdemKey): Promise<IdempotencyRow | undefined>;
  /**
   * Claims the key (state `in_flight`); false when a record for it exists already (another
   * request holds it). With `nodeId` (several nodes), the claim names the node, and an in-flight
   * record of a node whose lease has run out (it died mid-request) is taken over.
   */
  claim(k: IdemKey, requestHash: string, nowMs: number, nodeId?: string): Promise<boolean>;
  /** Records the response; `runId`: the run it names, so the record is pruned with that run. */
  complete(k: IdemKey, status: number, body: string, headers: string, runId: string | null): Promise<void>;
  /** Forgets an in-flight record whose request failed, so the client may retry. */
  release(k: IdemKey): Promise<void>;
  /** Deletes records older than `beforeMs`; returns how many. */
  expire(beforeMs: number): Promise<number>;
}

export type { FireExpectation, MaintenancePort, OpsCatalogPort, RetentionPort, SchedulePort, TransferPort } from './lifecycle-ports.js';

/** Artifact ownership: which tenant may read which content hash (bytes live in src/artifacts). */
export interface ArtifactIndexPort {
  /** Records that the tenant owns the artifact (idempotent; the first media type is kept). */
  own(row: ArtifactRow): Promise<void>;
  owns(tenant: string, hash: string): Promise<{ size: number; mediaType: string } | undefined>;
  /**
   * Records that each holder (a run id) names the tenant's artifact, so garbage collection keeps
   * it while the holder is kept; idempotent, and a hash the tenant does not own is ignored.
   */
  addRefs(refs: ReadonlyArray<{ tenant: string; hash: string; holder: string }>): Promise<void>;
}

export type { HeldRun, LeasePort, NodeRow } from './lease-ports.js';
export { LeaseLost } from './lease-ports.js';

/** Every port, bound to one connection or transaction (outside `store/`, a request's transaction is this as an opaque {@link TxHandle}). */
export interface Ports extends TxHandle {
  readonly catalog: CatalogPort;
  readonly runs: RunLedgerPort;
  readonly events: EventLogPort;
  readonly idem: IdempotencyPort;
  readonly artifacts: ArtifactIndexPort;
  readonly schedules: SchedulePort;
  readonly retention: RetentionPort;
  readonly transfer: TransferPort;
  readonly ops: OpsCatalogPort;
  readonly leases: LeasePort;
  /**
   * Runs `fn` in a savepoint of this transaction: when it throws, only its writes roll back
   * and the error is rethrown; the transaction goes on (the schedule firer decides each
   * schedule's fires so within one batch). Refused outside a transaction.
   */
  savepoint<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Writes one group commit in this connection's transaction (what {@link StorePorts.commitBatch}
   * runs in a transaction of its own): a request that changes the engine's state (a cancel)
   * writes the pending batch with its own changes. Returns the event rows in batch order.
   */
  writeBatch(b: CommitBatch): Promise<EventRow[]>;
}

/** What one scheduler turn writes (the group commit), in one transaction. */
export interface CommitBatch {
  runs: readonly RunUpdate[];
  /** Each step's whole state. */
  steps: readonly StepRow[];
  /** Inserted, or their outcome columns updated when they exist. */
  attempts: readonly AttemptRow[];
  /** Ownership rows, each with the run that holds it. */
  artifacts: ReadonlyArray<ArtifactRow & { holder: string }>;
  /** References that keep artifacts alive (a step's outputs name them); one the tenant does not own is ignored. */
  refs: ReadonlyArray<{ tenant: string; hash: string; holder: string }>;
  events: readonly NewEvent[];
  /**
   * Several nodes (PostgreSQL): the node writing the batch and the runs it holds, at their
   * epochs; the batch commits only if the node still holds every one of them
   * ({@link LeasePort.fence}), else nothing is written and it rejects with {@link LeaseLost}.
   * `release`: runs the batch ends, whose ownership goes with the same commit.
   */
  fence?: { nodeId: string; runs: ReadonlyArray<{ runId: string; epoch: number }>; release?: readonly string[] };
}


/** Told when events commit (on any node of a PostgreSQL installation). */
export interface EventWatchListener {
  /** Events committed: each tenant's new last `seq` (a hint: read the events from the log). */
  heads(heads: ReadonlyArray<{ tenant: string; seq: number }>): void;
  /** Wake-ups may have been missed (the connection was lost and is back): re-read what you follow. */
  resync(): void;
}

export interface EventWatch {
  close(): Promise<void>;
}

/** A store behind the ports: SQLite (embedded, the default) or PostgreSQL. */
export interface StorePorts extends Ports {
  /** `sqlite` or `postgres`. */
  readonly kind: 'sqlite' | 'postgres';
  /** The database's own upkeep (outside any transaction). */
  readonly maintenance: MaintenancePort;
  /**
   * Runs `fn` in one transaction: it commits when `fn` resolves, rolls back when it throws.
   * `fn` may await only the `tx` ports (on SQLite the transaction must not span an event-loop
   * turn: awaiting anything else is refused with an error and rolled back).
   */
  transaction<T>(fn: (tx: Ports) => Promise<T>): Promise<T>;
  /** Writes one group commit in its own transaction; returns the event rows, seq and hash assigned, in batch order. */
  commitBatch(b: CommitBatch): Promise<EventRow[]>;
  /**
   * Wake-ups when events commit, on any node (PostgreSQL: LISTEN/NOTIFY, pg/watch.ts). On the
   * embedded store one process writes everything and publishes its own commits, so the watch
   * never fires.
   */
  watchEvents(l: EventWatchListener): Promise<EventWatch>;
  /**
   * A value the whole installation shares: the stored value of `name`, or `candidate`, stored
   * now when there is none (the first node to ask wins; every node then gets the same value).
   */
  setting(name: string, candidate: string): Promise<string>;
  /** Precomputed views of this store's ended runs (ended-views.ts). */
  readonly endedViews: EndedViews;
}

/** What names a run (the request log's fields), read without the rest of its row. */
export type RunHead = Pick<RunRow, 'runId' | 'dagId' | 'scheduleId'>;

/** A run's place in a list page. */
export interface RunKeyRow {
  runId: string;
  startedMs: number;
}

/** The ports of a request's transaction (`core/tx.ts`): what a service narrows the opaque handle to. */
export function txPorts(tx: TxHandle): Ports {
  return tx as Ports;
}
