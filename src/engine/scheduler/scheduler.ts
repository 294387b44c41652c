/**
 * The scheduler: event-driven, never polling (ENGINE-NOTES). What moves a run is a step
 * result from the pool, a due timer, a new run or a cancel; each mutates the live state and
 * asks for one turn of the loop (`setImmediate`). A turn admits queued runs (per-tenant FIFO,
 * round-robin across tenants, capped per tenant and overall), dispatches ready steps
 * (round-robin across tenants, capped by the pool's capacity) and writes every change of the
 * turn in ONE transaction with its events (group commit). Only then are steps handed to the
 * pool, aborts sent and events published on {@link Scheduler.events}.
 *
 * @example
 * const scheduler = new Scheduler({ store, pool, logs: cas, plans, logger, limits });
 * scheduler.recover();                       // before serving
 * scheduler.events.on('committed', (rows) => stream.publish(rows));
 * await scheduler.drain(30_000);             // SIGTERM
 */
import { systemClock } from '../../core/index.js';
import type { PinEntry } from '../../dags/index.js';
import type { Checkpointer, EventRow, RunRow } from '../../store/index.js';
import { isRunTerminal } from './states.js';
import { actorDetail } from '../../events/actor.js';
import type { StepResult } from '../pool/pool-types.js';
import { liveRun, type LiveRun, type LiveStep } from './live.js';
import type { PlanCache, PlanInfo } from './plans.js';
import { recoverRuns, type RecoveryHooks } from './recovery.js';
import { DEFAULT_LIMITS, SchedulerLoop, type SchedulerOptions } from './loop.js';

export { DEFAULT_LIMITS, LOG_MEDIA_TYPE } from './loop.js';
export type { LogSink, PinnedPlugins, SchedulerEvents, SchedulerOptions, StepRunner } from './loop.js';

export class Scheduler extends SchedulerLoop {
  private readonly plans: PlanCache;
  /** WAL checkpoints on a background thread, not inside a group commit (the store's). */
  private readonly checkpointer: Checkpointer | null;

  constructor(o: SchedulerOptions) {
    super(o.store, o.pool, o.plugins, o.logs, o.clock ?? systemClock, o.logger, { ...DEFAULT_LIMITS, ...o.limits });
    this.plans = o.plans;
    this.checkpointer = o.store.startBackgroundCheckpoints(o.logger);
  }

  override async drain(timeoutMs: number): Promise<void> {
    await super.drain(timeoutMs);
    await this.checkpointer?.stop();
  }

  /** Runs of a tenant waiting to start (the `maxQueuedRuns` quota counts these). */
  queuedCount(tenant: string): number {
    return this.runQueue.sizeOf(tenant);
  }

  /**
   * Queue depth by tenant for health and metrics (ops' `QueueStats`): `'*'` lists the tenants
   * with runs queued or running; a list gives exactly those tenants (zeros included).
   */
  depthByTenant(tenants: '*' | readonly string[]): Array<{ tenant: string; queued: number; running: number }> {
    const names =
      tenants === '*'
        ? [...new Set([...this.runQueue.tenants(), ...[...this.runningByTenant].filter(([, n]) => n > 0).map(([t]) => t)])]
        : [...tenants];
    return names.sort().map((tenant) => ({
      tenant,
      queued: this.runQueue.sizeOf(tenant),
      running: this.runningByTenant.get(tenant) ?? 0,
    }));
  }

  /**
   * Loads every run left in flight by the last process and makes its state consistent (see
   * `recovery.ts`), then commits that synchronously. Call once, before serving.
   */
  recover(): number {
    const n = recoverRuns({
      store: this.store,
      plans: this.plans,
      logger: this.logger,
      now: this.clock.now(),
      adopt: (run) => this.live.set(run.runId, run),
      queue: (run) => this.runQueue.push(run.tenant, run),
      core: this.recoveryHooks(),
    });
    this.pump();
    this.flush();
    return n;
  }

  /** A new run's live state (nothing stored yet); `pins` are its DAG version's plugin pins. */
  newRun(row: RunRow, info: PlanInfo, pins: ReadonlyMap<string, PinEntry> | null): LiveRun {
    return liveRun(row, info, pins);
  }

  /**
   * Writes a new run, its steps and its `run.started` event. Call inside the request's
   * transaction; call {@link admitted} once that has committed.
   */
  insertRun(row: RunRow, run: LiveRun): EventRow {
    this.store.runs.insertRun(row);
    for (const s of run.info.plan.steps) this.store.runs.insertStep(row.runId, s.id, s.index);
    return this.store.events.append({
      tenant: row.tenant, type: 'run.started', dagId: row.dagId, runId: row.runId, stepId: null,
      status: row.status, tsMs: row.startedMs, traceId: row.traceId, scheduleId: row.scheduleId ?? null,
      detail: actorDetail(row.createdBy),
    });
  }

  /**
   * The runs' inserts committed: queue them and publish the events of that commit (their
   * `run.started`, and whatever else it wrote), in seq order.
   */
  admitted(runs: readonly LiveRun[], events: EventRow[]): void {
    for (const run of runs) {
      this.live.set(run.runId, run);
      this.runQueue.push(run.tenant, run);
    }
    if (events.length > 0) this.events.emit('committed', events);
    this.kick();
  }

  /**
   * Cancels a run in flight; `actor` and `reason` go on its cancel events (`cancelling`,
   * `cancelled`) and its row. Returns true when this call moved it; false when it is not in
   * flight here, or already cancelling. Call inside {@link transact} so the change commits
   * with the request.
   */
  cancel(tenant: string, runId: string, reason: string | null, actor: string | null = null): boolean {
    const run = this.live.get(runId);
    if (!run || run.tenant !== tenant || run.cancelRequested || isRunTerminal(run.status)) return false;
    run.cancelReason = reason;
    run.cancelledBy = actor;
    this.stopRun(run, 'cancel');
    return true;
  }

  private recoveryHooks(): RecoveryHooks {
    return {
      count: (run: LiveRun) => this.count(run),
      markQueued: (s: LiveStep) => this.markQueued(s),
      ready: (s: LiveStep) => this.enqueueReady(s),
      finishAttempt: (s: LiveStep, r: StepResult) => this.finishAttempt(s, r, null),
      skip: (s: LiveStep) => {
        s.endedMs = this.clock.now();
        this.setStepStatus(s, 'skipped');
        this.onStepTerminal(s);
      },
      stopRun: (run: LiveRun) => this.stopRun(run, 'cancel'),
      finishRun: (run: LiveRun) => this.finishRun(run),
      retryAt: (s: LiveStep, due: number) => this.timers.add(due, { kind: 'retry', step: s, due }),
      addInFlight: (s: LiveStep) => this.stepInFlight(s),
    };
  }
}
