/**
 * Runs as the API sees them: start (with runToken idempotency, inputs validation and quotas),
 * read, list, export and cancel. Knows nothing of HTTP: it runs its changes in the caller's
 * transaction (`Tx`) and returns what happened (the route makes the HTTP answer);
 * the live state belongs to the scheduler, and every read comes from SQLite (which holds every
 * committed state: nothing is observable before its commit).
 *
 * @example
 * const runs = new RunService({ store, scheduler, dags, plans, clock, limits: { maxQueuedRuns: 100 } });
 * const { run, created } = runs.create('demo', { dagId: 'hello' }, traceId, (fn) => store.tx(fn), { actor: 'alice' });
 */
import { namedHashes } from '../artifacts/index.js';
import { ApiError, canonicalJson, sha256Hex, uuidv7, UUID_V7_RE, type Clock, type Transact } from '../core/index.js';
import type { DagService } from '../dags/service.js';
import type { PinEntry } from '../dags/index.js';
import { runStartedEvent, type LiveRun, type PinnedPlugins, type PlanCache, type Scheduler } from '../engine/index.js';
import { txPorts, type EventRow, type Ports, type RunListFilter, type RunRow, type StepRow, type Store, type StorePorts } from '../store/index.js';
import { runArtifacts, type RunArtifact } from './artifacts.js';
import { runView, stepView, type RunView, type StepView } from './views.js';
import { exportRunRecords, type ExportFilter, type RunRecord } from './transfer.js';

export interface CreateRunRequest {
  dagId: string;
  version?: string;
  inputs?: Record<string, unknown>;
  runToken?: string;
}

/**
 * Where a run comes from (never from a client's body): who started it (docs/API.md "Actors":
 * a token's `sub`, `schedule:<id>` for a fire) and, for a schedule's run, the schedule and the
 * fire time.
 */
export interface RunOrigin {
  actor?: string;
  scheduleId?: string;
  scheduledMs?: number;
}

export interface RunServiceDeps {
  store: Store;
  ports: StorePorts;
  scheduler: Scheduler;
  dags: DagService;
  plans: PlanCache;
  /** Where each DAG version's pinned plugins are looked up (the plugin registry). */
  plugins: PinnedPlugins;
  clock: Clock;
  limits: {
    /** Per tenant: runs waiting to start; past it `POST /runs` is 429 QUOTA_EXCEEDED. */
    maxQueuedRuns: number;
    /** Canonical JSON bytes of run inputs (default 1 MiB). */
    maxInputsBytes?: number;
  };
}

/** A new run checked and ready to store ({@link RunService.prepare}). */
export interface PreparedRun {
  row: RunRow;
  run: LiveRun;
  steps: StepRow[];
}

/** What {@link RunService.create} did: `created` false when the runToken's run already existed. */
export interface RunStarted {
  run: RunView;
  created: boolean;
}

/** What {@link RunService.cancel} did: `cancelled` false when the run was already cancelling or ended. */
export interface RunCancelled {
  run: RunView;
  cancelled: boolean;
}


export type { ExportFilter };

const notFound = () => new ApiError('NOT_FOUND', 'run not found');

export class RunService {
  constructor(private readonly d: RunServiceDeps) {}

  /**
   * Starts a run (`created`), or finds the run of the same `runToken` (not `created`, when
   * dagId, version and canonical inputs match; RUN_TOKEN_CONFLICT otherwise). The run row, its steps, its
   * `run.started` event and the idempotency record commit in one transaction. A schedule's fire
   * passes its `origin`, which the run and its events carry.
   */
  async create(tenant: string, req: CreateRunRequest, traceId: string, tx: Transact<RunStarted>, origin?: RunOrigin): Promise<RunStarted> {
    const p = this.prepare(tenant, req, traceId, origin);
    if ('existing' in p) return { run: this.view(p.existing), created: false };
    let started: EventRow | undefined;
    // A failed transaction needs no clean-up here: `tx` is a store transaction, which forgets
    // the event log's cached heads itself when it throws.
    const out = await tx(async (h) => {
      // The runToken again, in the transaction: a concurrent request with it may have committed since.
      const existing = req.runToken === undefined ? undefined : this.d.store.runs.byToken(tenant, req.runToken);
      if (existing) return { run: this.view(this.sameRequest(existing, req, p.row.inputsHash)), created: false };
      started = await this.insert(txPorts(h), p);
      return { run: runView(p.row, p.steps, []), created: true };
    });
    if (started) this.admit([p], [started]);
    return out;
  }

  /** The run of a runToken, when it was started with the same request; RUN_TOKEN_CONFLICT otherwise. */
  private sameRequest(existing: RunRow, req: CreateRunRequest, inputsHash: string): RunRow {
    const same = existing.dagId === req.dagId && (req.version === undefined || req.version === existing.dagVersion) && existing.inputsHash === inputsHash;
    if (!same) throw new ApiError('RUN_TOKEN_CONFLICT', 'runToken was used for a run with another dagId, version or inputs');
    return existing;
  }

  /**
   * Every check of {@link create} and the new run's rows and live state, storing nothing:
   * `{existing}` when the runToken already started a run with the same request. Throws the
   * ApiError `create` answers. `queuedBefore` counts runs of the tenant prepared but not yet
   * admitted (a batch of schedule fires), so the queued-run quota holds across the batch.
   *
   * @example
   * const p = runs.prepare('demo', { dagId: 'hello' }, traceId);
   * if (!('existing' in p)) { const ev = await ports.transaction((tx) => runs.insert(tx, p)); runs.admit([p], [ev]); }
   */
  prepare(tenant: string, req: CreateRunRequest, traceId: string, origin?: RunOrigin, queuedBefore = 0): PreparedRun | { existing: RunRow } {
    const { store, scheduler, clock } = this.d;
    if (!scheduler.accepting) {
      throw new ApiError('UNAVAILABLE', 'the server is shutting down; retry on another instance', undefined, { retryAfterSeconds: 5 });
    }
    const inputsJson = canonicalJson(req.inputs ?? {});
    const max = this.d.limits.maxInputsBytes ?? 1024 * 1024;
    if (Buffer.byteLength(inputsJson, 'utf8') > max) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `run inputs exceed ${max} bytes of canonical JSON`, { limit: max, field: 'body.inputs' });
    }
    const inputsHash = sha256Hex(inputsJson);
    if (req.runToken !== undefined) {
      const existing = store.runs.byToken(tenant, req.runToken);
      if (existing) return { existing: this.sameRequest(existing, req, inputsHash) };
    }
    const version = this.d.dags.resolveForRun(tenant, req.dagId, req.version);
    const info = this.d.plans.forRow(version);
    info.validateInputs(req.inputs ?? {});
    const pins = this.d.plans.pinsFor(version);
    this.checkPins(tenant, version, pins);
    if (scheduler.queuedCount(tenant) + queuedBefore >= this.d.limits.maxQueuedRuns) {
      throw new ApiError('QUOTA_EXCEEDED', `tenant has ${this.d.limits.maxQueuedRuns} runs queued already`, { limit: this.d.limits.maxQueuedRuns }, { retryAfterSeconds: 1 });
    }
    const now = clock.now();
    const row: RunRow = {
      runId: uuidv7(now),
      tenant,
      dagId: version.dagId,
      dagVersion: version.version,
      dagHash: version.hash,
      runToken: req.runToken ?? null,
      traceId,
      status: 'queued',
      inputs: inputsJson,
      inputsHash,
      outputsHash: null,
      createdMs: now,
      startedMs: now,
      endedMs: null,
      cancelReason: null,
      createdBy: origin?.actor ?? null,
      cancelledBy: null,
      scheduleId: origin?.scheduleId ?? null,
      scheduledMs: origin?.scheduledMs ?? null,
    };
    const run = scheduler.newRun(row, info, pins);
    const steps: StepRow[] = info.plan.steps.map((s) => ({
      runId: row.runId, stepId: s.id, topoIndex: s.index, status: 'pending', attempt: 0, startedMs: null, endedMs: null,
      inputsHash: null, outputsHash: null, outputs: null, logsRef: null, errorCode: null, errorMessage: null,
      retryable: null, nextAttemptMs: null,
    }));
    return { row, run, steps };
  }

  /** Writes a prepared run (row, steps, `run.started`) through `tx`, the caller's transaction; returns the event. */
  async insert(tx: Ports, p: PreparedRun): Promise<EventRow> {
    const started = await this.d.scheduler.insertRun(tx, p.row, p.run);
    // Inputs that name the tenant's artifacts keep them while this run is kept.
    const hashes = namedHashes(p.row.inputs);
    if (hashes.length > 0) await tx.artifacts.addRefs(hashes.map((hash) => ({ tenant: p.row.tenant, hash, holder: p.row.runId })));
    return started;
  }

  /**
   * {@link insert} for a caller still inside a synchronous `store.tx` (the schedule firer, until
   * it commits through the ports): the same rows, written through the store.
   */
  insertInStoreTx(p: PreparedRun): EventRow {
    const { store } = this.d;
    store.runs.insertRun(p.row);
    for (const s of p.run.info.plan.steps) store.runs.insertStep(p.row.runId, s.id, s.index);
    const started = store.events.append(runStartedEvent(p.row));
    store.refs.addOwned(p.row.tenant, p.row.runId, namedHashes(p.row.inputs));
    return started;
  }

  /** After the inserts committed: queues the runs and publishes `events` (all of the commit, in seq order). */
  admit(runs: readonly PreparedRun[], events: EventRow[]): void {
    this.d.scheduler.admitted(runs.map((p) => p.run), events);
  }

  /**
   * Every plugin the DAG version pinned is installed for the tenant with the pinned content;
   * otherwise 422 PLUGIN_UNAVAILABLE (nothing of the run is stored).
   */
  private checkPins(tenant: string, version: { dagId: string; version: string }, pins: ReadonlyMap<string, PinEntry> | null): void {
    const where = { dagId: version.dagId, version: version.version };
    if (!pins) {
      throw new ApiError('PLUGIN_UNAVAILABLE', `${version.dagId}@${version.version} was stored before plugin pinning and names a plugin that is not installed; install it, then restart the server or POST /admin/warm`, where);
    }
    for (const pin of pins.values()) {
      const found = this.d.plugins.pinned(tenant, pin);
      if (!found.ok) throw new ApiError('PLUGIN_UNAVAILABLE', found.message, { ...where, plugin: pin.ref, contentHash: pin.contentHash, reason: found.reason });
    }
  }

  /** The run of this tenant (404 for a malformed id, a missing run, or another tenant's). */
  row(tenant: string, runId: string): RunRow {
    if (!UUID_V7_RE.test(runId)) throw notFound();
    const row = this.d.store.runs.getForTenant(tenant, runId);
    if (!row) throw notFound();
    return row;
  }

  /** Full view: steps in topological order, each with its attempts. */
  view(row: RunRow): RunView {
    return runView(row, this.d.store.runs.steps(row.runId), this.d.store.runs.attemptsOfRun(row.runId));
  }

  get(tenant: string, runId: string): RunView {
    return this.view(this.row(tenant, runId));
  }

  /** One page of step executions after topological position `afterIndex`. */
  stepsPage(tenant: string, runId: string, afterIndex: number, limit: number): Array<StepRow & { view: StepView }> {
    const row = this.row(tenant, runId);
    return this.d.store.runs
      .stepsPage(row.runId, afterIndex, limit)
      .map((s) => ({ ...s, view: stepView(s, this.d.store.runs.attemptsOfStep(row.runId, s.stepId)) }));
  }

  step(tenant: string, runId: string, stepId: string): StepView {
    const row = this.row(tenant, runId);
    const s = this.d.store.runs.step(row.runId, stepId);
    if (!s) throw new ApiError('NOT_FOUND', 'step not found');
    return stepView(s, this.d.store.runs.attemptsOfStep(row.runId, stepId));
  }

  /**
   * Cancels a run: `cancelled` when this call moved it (to `cancelling`, or straight to
   * `cancelled` when nothing was in flight); otherwise the current state, when it was already
   * cancelling or ended (idempotent, CONTRACT §3). The change and the idempotency record share a transaction
   * (`tx`, the request's; without it, one of its own).
   * `actor` and `reason` are recorded on the run (`cancelledBy`, `cancelReason`) and its events.
   */
  async cancel(tenant: string, runId: string, reason: string | undefined, tx?: Transact<RunCancelled>, actor: string | null = null): Promise<RunCancelled> {
    const row = this.row(tenant, runId);
    let moved = false;
    return this.d.scheduler.transact(
      (fn) => (tx ?? ((f) => this.d.ports.transaction(f)))((h) => fn(txPorts(h))),
      () => {
        moved = this.d.scheduler.cancel(tenant, row.runId, reason ?? null, actor);
      },
      async () => ({ run: this.get(tenant, row.runId), cancelled: moved }),
    );
  }

  /** A page of a tenant's runs without steps (`GET /runs`): startedMs DESC, then runId ASC. */
  list(filter: RunListFilter): RunRow[] {
    return this.d.store.runs.list(filter);
  }

  /** The artifacts a run references that its tenant owns, in their total order (artifacts.ts). */
  artifacts(tenant: string, runId: string): Array<RunArtifact & { key: string }> {
    return runArtifacts(this.get(tenant, runId), (hash) => this.d.store.artifacts.owns(tenant, hash));
  }

  /** Runs for an export, oldest first (`startedMs ASC, runId ASC`), steps and attempts inline. */
  exportRuns(f: ExportFilter): Generator<RunRecord> {
    return exportRunRecords(this.d.store, f);
  }

}
