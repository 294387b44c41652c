/**
 * The lifecycle ports (part of ports.ts `Ports` / `StorePorts`): schedules, retention with the
 * event log's pruned prefix and artifact GC, run transfer, ops' cross-tenant reads, and the
 * database's own upkeep. Every method returns a Promise (docs/SCALE-OUT.md, "Sync or async").
 *
 * @example
 * await ports.transaction(async (tx) => tx.schedules.recordFire(tenant, id, { nextFireMs, bufferedFireMs: null }, state));
 */
import type { AttemptRow, RunRow, StepRow } from './runs.js';
import type { FireState, ScheduleListFilter, ScheduleRow } from './schedules.js';
import type { PolicyRow, PrunedCounts, RunKey } from './retention.js';
import type { OwnedRow } from './refs.js';

/** The fire a schedule's compare-and-set expects (`next_fire_ms`, `buffered_fire_ms` as read). */
export interface FireExpectation {
  nextFireMs: number | null;
  bufferedFireMs: number | null;
}

/** Schedules (CONTRACT §11): the API's CRUD and the firing scheduler's compare-and-set writes. */
export interface SchedulePort {
  get(tenant: string, scheduleId: string): Promise<ScheduleRow | undefined>;
  /** Inserts a new schedule; false when the id exists (nothing written; two at once: one inserts, as `CatalogPort.insertVersion`). */
  insert(row: ScheduleRow): Promise<boolean>;
  /** Replaces the document (PUT, a newer preloaded file); the fire history stays, a buffered fire is dropped. */
  replace(r: Pick<ScheduleRow, 'tenant' | 'scheduleId' | 'dagId' | 'spec' | 'specHash' | 'signature' | 'signedBy' | 'paused' | 'updatedMs' | 'updatedBy' | 'nextFireMs'>): Promise<void>;
  /** Pauses (nextFireMs null) or resumes (nextFireMs the next fire); drops a buffered fire. */
  setPaused(tenant: string, scheduleId: string, paused: boolean, nextFireMs: number | null, nowMs: number, by: string | null): Promise<void>;
  /** True when it existed. */
  delete(tenant: string, scheduleId: string): Promise<boolean>;
  /**
   * Records a decided fire if the schedule still expects it (`expect` unchanged since read):
   * false when another writer (a replace, a pause, another node) got there first, and the
   * caller must write nothing else.
   */
  recordFire(tenant: string, scheduleId: string, expect: FireExpectation, s: FireState): Promise<boolean>;
  /** Clears the buffered fire `fireMs` (it started, or could not): false if it was not buffered any more. */
  takeBuffered(tenant: string, scheduleId: string, fireMs: number, status: string, runId: string | null, error: string | null): Promise<boolean>;
  /** Every unpaused schedule with a fire to wait for, all tenants (the firer's heap at start-up). */
  armed(): Promise<ScheduleRow[]>;
  /** One page, `scheduleId ASC` (every schedule of the tenant with `limit` Infinity). */
  list(f: ScheduleListFilter): Promise<ScheduleRow[]>;
  /** Ids of the schedule's runs not yet ended (imported runs excluded), by run id: the overlap policy's input. */
  activeRuns(tenant: string, scheduleId: string): Promise<string[]>;
}

/**
 * Retention: per-tenant policies, the choice and deletion of prunable runs, the event log's
 * pruned prefix and its chain checkpoint, and artifact garbage collection's candidates.
 * Deletions are meant to run inside a {@link StorePorts.transaction}.
 */
export interface RetentionPort {
  policy(tenant: string): Promise<PolicyRow | undefined>;
  /** Every tenant's own policy, by tenant. */
  policies(): Promise<PolicyRow[]>;
  putPolicy(p: PolicyRow): Promise<void>;
  /** Tenants that have runs, in byte order. */
  tenants(): Promise<string[]>;
  /** DAG ids a tenant has runs of, in byte order. */
  dagsWithRuns(tenant: string): Promise<string[]>;
  /** The K-th newest ended run of a DAG (K ≥ 1; newest by startedMs, then runId), or undefined when it has fewer. */
  keepBoundary(tenant: string, dagId: string, keep: number): Promise<RunKey | undefined>;
  /** Up to `limit` ended runs of a DAG that ended before `cutoffMs`, strictly between `after` and `before`, oldest first. */
  eligible(q: { tenant: string; dagId: string; after: RunKey; before: RunKey; cutoffMs: number; limit: number }): Promise<RunKey[]>;
  /** Status and end of the given runs, by run id (absent ones are missing from the answer). */
  runStates(runIds: readonly string[]): Promise<Array<{ runId: string; status: string; endedMs: number | null }>>;
  /**
   * Deletes ended runs with their steps, attempts, Idempotency-Key records and artifact
   * references; refuses (throws, deleting nothing more) when one of them has not ended.
   */
  deleteRuns(runIds: readonly string[]): Promise<PrunedCounts>;
  /** The chain checkpoint of a tenant's pruned prefix (the last pruned `seq` and `hash`), or undefined. */
  checkpoint(tenant: string): Promise<{ seq: number; hash: string } | undefined>;
  /** Deletes a tenant's events through `last.seq` and records `last` as its checkpoint; returns how many. */
  pruneEvents(tenant: string, last: { seq: number; hash: string }, nowMs: number): Promise<number>;
  /** The next ownership rows after `after` in `(tenant, hash)` order (all tenants, or one), each with whether a reference names it. */
  ownedPage(after: { tenant: string; hash: string }, limit: number, tenant?: string): Promise<OwnedRow[]>;
  /**
   * Deletes a tenant's ownership row when it is older than `createdBefore` and no reference
   * names it (checked at the delete, under the row's lock on PostgreSQL); whether it did.
   */
  deleteIfUnreferenced(tenant: string, hash: string, createdBefore: number): Promise<boolean>;
  /** Whether any tenant owns the hash (its bytes must stay). */
  ownedByAnyone(hash: string): Promise<boolean>;
}

/** What importing runs from another installation's export needs (export reads through {@link RunLedgerPort}). */
export interface TransferPort {
  /**
   * Inserts an ended run imported as it was (`imported`: read-only, outside the runToken
   * namespace), with its steps and attempts. False when its run id or a step key is taken
   * already: the caller must then abort its transaction (on PostgreSQL nothing else can run in it).
   */
  insertImported(run: RunRow, steps: readonly StepRow[], attempts: readonly AttemptRow[]): Promise<boolean>;
}

/** Ops' cross-tenant reads (warm-up, queue depth without a scheduler, the known tenants). */
export interface OpsCatalogPort {
  /** Every active DAG version of every tenant: its hash and definition (unordered). */
  activeVersions(): Promise<Array<{ hash: string; definition: string }>>;
  /** Every tenant with a DAG version, unordered (the runs table is not scanned). */
  dagTenants(): Promise<string[]>;
  /** Runs with one of `statuses`, counted by tenant and status; `'*'`: every tenant. Unordered. */
  runCounts(statuses: readonly string[], tenants: '*' | readonly string[]): Promise<Array<{ tenant: string; status: string; n: number }>>;
}

/**
 * Upkeep of the database itself. SQLite: a consistent copy (`orchestrator backup`, `POST
 * /admin/backup`) and `PRAGMA integrity_check`. PostgreSQL refuses both with
 * {@link MaintenanceUnsupported}, naming the PostgreSQL tool that does it (docs/SCALE-OUT.md).
 */
export interface MaintenancePort {
  /** A trivial query (the health check's liveness probe). */
  ping(): Promise<void>;
  /** `ok`, or what is wrong. */
  integrityCheck(): Promise<string>;
  /** A transactionally consistent copy of the database to `destFile` (which must not exist). */
  snapshot(destFile: string, onProgress?: (done: number, total: number) => void): Promise<{ pages: number }>;
  /**
   * Runs `fn` while this process holds the installation-wide lock `name`, waiting for it while
   * another node holds it (retention and artifact collection run on one node at a time). On the
   * embedded store one process is the installation: `fn` just runs.
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;
}
