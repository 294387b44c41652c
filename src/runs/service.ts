/**
 * Runs as the API sees them: start (with runToken idempotency, inputs validation and quotas),
 * read, list, export and cancel. Knows nothing of HTTP: it runs its changes in the caller's
 * transaction (`Transact`, core/tx.ts) and returns what happened (the route makes the HTTP
 * answer); the live state belongs to the scheduler, and every read goes through the storage
 * ports (which hold every committed state: nothing is observable before its commit).
 *
 * @example
 * const runs = new RunService({ ports, scheduler, dags, plans, plugins, clock, limits: { maxQueuedRuns: 100 } });
 * const { run, created } = await runs.create('demo', { dagId: 'hello' }, traceId, (fn) => ports.transaction(fn), { actor: 'alice' });
 */
import { namedHashes } from '../artifacts/index.js';
import { ApiError, uuidv7, UUID_V7_RE, type Clock, type Transact } from '../core/index.js';
import type { DagService } from '../dags/service.js';
import type { PinEntry } from '../dags/index.js';
import { runStartedEvent, type PinnedPlugins, type PlanCache, type Scheduler } from '../engine/index.js';
import { txPorts, type DagVersionRow, type EventRow, type Ports, type RunHead, type RunListFilter, type RunRow, type StepRow, type StorePorts } from '../store/index.js';
import { runArtifacts, type RunArtifact } from './artifacts.js';
import { runView, stepView, type RunView, type StepView } from './views.js';
import { keptRunJson, listJson, runJson, type KeyedJson } from './ended-json.js';
import { exportRunRecords, type ExportFilter, type RunRecord } from './transfer.js';
import { runInputs, sameRequest, type CreateRunRequest, type PreparedRun, type RunCancelled, type RunInputs, type RunOrigin, type RunStarted } from './requests.js';

export type { CreateRunRequest, PreparedRun, RunCancelled, RunOrigin, RunStarted };

export interface RunServiceDeps {
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
    const { ports } = this.d;
    const p = await this.prepare(ports, tenant, req, traceId, origin);
    if ('existing' in p) return { run: await this.view(p.existing), created: false };
    const inputsHash = p.row.inputsHash;
    let started: EventRow | undefined;
    try {
      // A failed transaction needs no clean-up here: the store forgets the event log's cached
      // heads itself when one rolls back.
      const out = await tx(async (h) => {
        const t = txPorts(h);
        // The runToken again, in the transaction: a concurrent request with it may have committed since.
        const existing = await this.byToken(t, tenant, req, inputsHash);
        if (existing) return { run: await this.view(existing, t), created: false };
        started = await this.insert(t, p);
        return { run: runView(p.row, p.steps, []), created: true };
      });
      if (started) this.admit([p], [started]);
      return out;
    } catch (e) {
      // Two requests with one runToken inserted at once (PostgreSQL: neither saw the other's
      // uncommitted run): the loser's unique conflict is answered with the winner's run.
      const existing = e instanceof ApiError ? undefined : await this.byToken(ports, tenant, req, inputsHash);
      if (existing) return { run: await this.view(existing), created: false };
      throw e;
    }
  }

  /** The run a runToken started, when it was started with the same request; RUN_TOKEN_CONFLICT when not. */
  private async byToken(ports: Ports, tenant: string, req: CreateRunRequest, inputsHash: string): Promise<RunRow | undefined> {
    if (req.runToken === undefined) return undefined;
    const existing = await ports.runs.byToken(tenant, req.runToken);
    return existing && sameRequest(existing, req, inputsHash);
  }

  /** A new run's inputs as stored (canonical JSON) and their hash; refuses while draining and past the size limit. */
  private inputsOf(req: CreateRunRequest): RunInputs {
    if (!this.d.scheduler.accepting) {
      throw new ApiError('UNAVAILABLE', 'the server is shutting down; retry on another instance', undefined, { retryAfterSeconds: 5 });
    }
    return runInputs(req, this.d.limits.maxInputsBytes ?? 1024 * 1024);
  }

  /**
   * Every check of {@link create} and the new run's rows and live state, storing nothing:
   * `{existing}` when the runToken already started a run with the same request. Throws the
   * ApiError `create` answers. `queuedBefore` counts runs of the tenant prepared but not yet
   * admitted (a batch of schedule fires), so the queued-run quota holds across the batch.
   * The runToken is read through `t` (the schedule firer passes its transaction, so the check and
   * the insert see the same state); a request uses {@link create}.
   *
   * @example
   * const ev = await ports.transaction(async (tx) => {
   *   const p = await runs.prepare(tx, 'demo', { dagId: 'hello' }, traceId);
   *   return 'existing' in p ? null : runs.insert(tx, p);
   * });
   */
  async prepare(t: Ports, tenant: string, req: CreateRunRequest, traceId: string, origin?: RunOrigin, queuedBefore = 0): Promise<PreparedRun | { existing: RunRow }> {
    const inputs = this.inputsOf(req);
    const existing = await this.byToken(t, tenant, req, inputs.hash);
    if (existing) return { existing };
    return this.prepared(tenant, req, traceId, inputs, await this.d.dags.resolve(tenant, req.dagId, req.version), origin, queuedBefore);
  }

  /** The new run's rows and live state, for `version` (checked: inputs, pinned plugins, the queued-run quota). */
  private prepared(tenant: string, req: CreateRunRequest, traceId: string, inputs: RunInputs, version: DagVersionRow, origin?: RunOrigin, queuedBefore = 0): PreparedRun {
    const { scheduler, clock } = this.d;
    const inputsJson = inputs.json;
    const inputsHash = inputs.hash;
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
  async row(tenant: string, runId: string): Promise<RunRow> {
    if (!UUID_V7_RE.test(runId)) throw notFound();
    const row = await this.d.ports.runs.get(tenant, runId);
    if (!row) throw notFound();
    return row;
  }

  /** Full view: steps in topological order, each with its attempts (read through `ports`: a transaction's, or the store's). */
  async view(row: RunRow, ports: Ports = this.d.ports): Promise<RunView> {
    const [steps, attempts] = await Promise.all([ports.runs.steps(row.runId), ports.runs.attemptsOfRun(row.runId)]);
    return runView(row, steps, attempts);
  }

  async get(tenant: string, runId: string): Promise<RunView> {
    return this.view(await this.row(tenant, runId));
  }

  /** The JSON of `get`, with what names the run ({@link keptRunJson}, else {@link runJson} from its row). */
  async getJson(tenant: string, runId: string): Promise<{ json: Uint8Array; about: RunHead }> {
    if (!UUID_V7_RE.test(runId)) throw notFound();
    const kept = await keptRunJson(this.d.ports, tenant, runId);
    if (kept === null) throw notFound();
    if (kept !== undefined) return { json: kept.json, about: kept.head };
    const row = await this.row(tenant, runId);
    return { json: await runJson(this.d.ports.endedViews, row, () => this.view(row)), about: row };
  }

  /** A list page as JSON items, each with its key for the page token ({@link listJson}). */
  listJson(filter: RunListFilter): Promise<KeyedJson[]> {
    return listJson(this.d.ports, filter);
  }

  /** One page of step executions after topological position `afterIndex`. */
  async stepsPage(tenant: string, runId: string, afterIndex: number, limit: number): Promise<Array<StepRow & { view: StepView }>> {
    const row = await this.row(tenant, runId);
    const { runs } = this.d.ports;
    const steps = await runs.stepsPage(row.runId, afterIndex, limit);
    const attempts = steps.length === 0 ? [] : await runs.attemptsOfSteps(row.runId, steps.map((s) => s.stepId));
    return steps.map((s) => ({ ...s, view: stepView(s, attempts.filter((a) => a.stepId === s.stepId)) }));
  }

  async step(tenant: string, runId: string, stepId: string): Promise<StepView> {
    const row = await this.row(tenant, runId);
    const { runs } = this.d.ports;
    const [steps, attempts] = await Promise.all([runs.steps(row.runId), runs.attemptsOfRun(row.runId)]);
    const s = steps.find((x) => x.stepId === stepId);
    if (!s) throw new ApiError('NOT_FOUND', 'step not found');
    return stepView(s, attempts.filter((a) => a.stepId === stepId));
  }

  /**
   * Cancels a run: `cancelled` when this call moved it (to `cancelling`, or straight to
   * `cancelled` when nothing was in flight); otherwise the current state, when it was already
   * cancelling or ended (idempotent, CONTRACT §3). The change and the idempotency record share a transaction
   * (`tx`, the request's; without it, one of its own).
   * `actor` and `reason` are recorded on the run (`cancelledBy`, `cancelReason`) and its events.
   */
  async cancel(tenant: string, runId: string, reason: string | undefined, tx?: Transact<RunCancelled>, actor: string | null = null): Promise<RunCancelled> {
    const row = await this.row(tenant, runId);
    const commit: Transact<RunCancelled> = tx ?? ((fn) => this.d.ports.transaction(fn));
    let moved = false;
    // Several nodes: the run may be running on another one; this node takes it over first.
    await this.d.scheduler.hold(row.runId);
    return this.d.scheduler.transact(
      (fn) => commit((h) => fn(txPorts(h))),
      () => {
        moved = this.d.scheduler.cancel(tenant, row.runId, reason ?? null, actor);
      },
      async (t) => ({ run: await this.view((await t.runs.get(tenant, row.runId)) ?? row, t), cancelled: moved }),
    );
  }

  /** A page of a tenant's runs without steps (`GET /runs`): startedMs DESC, then runId ASC. */
  list(filter: RunListFilter): Promise<RunRow[]> {
    return this.d.ports.runs.list(filter);
  }

  /** The artifacts a run references that its tenant owns, in their total order (artifacts.ts). */
  async artifacts(tenant: string, runId: string): Promise<Array<RunArtifact & { key: string }>> {
    return runArtifacts(await this.get(tenant, runId), (hash) => this.d.ports.artifacts.owns(tenant, hash));
  }

  /** Runs for an export, oldest first (`startedMs ASC, runId ASC`), steps and attempts inline. */
  exportRuns(f: ExportFilter): AsyncGenerator<RunRecord> {
    return exportRunRecords(this.d.ports.runs, f);
  }

}
