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
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../core/index.js';
import type { EventRow, RunRow, Store } from '../store/index.js';
import { isRunTerminal } from '../runs/states.js';
import type { AbortReason } from './protocol.js';
import { abortResult, failedResult, type StepResult, type StepTask } from './pool-types.js';
import { GroupCommit } from './commit.js';
import { liveRun, type LiveRun, type LiveStep } from './live.js';
import type { PlanCache, PlanInfo } from './plans.js';
import { recoverRuns, type RecoveryHooks } from './recovery.js';
import { SchedulerCore, type CoreLimits, type Dispatch } from './scheduler-core.js';

/** The part of the worker pool the scheduler uses. */
export interface StepRunner {
  run(task: StepTask): Promise<StepResult>;
  abort(taskId: string, reason?: AbortReason): boolean;
}

/** Where attempt logs go (the content-addressed store). */
export interface LogSink {
  put(data: string): Promise<{ hash: string; size: number }>;
}

export interface SchedulerOptions {
  store: Store;
  pool: StepRunner;
  logs: LogSink;
  plans: PlanCache;
  logger: Logger;
  clock?: Clock;
  limits: Partial<CoreLimits> & Pick<CoreLimits, 'maxInFlightSteps'>;
}

export interface SchedulerEvents {
  /** Events just made durable, in commit (and per-tenant seq) order. */
  committed: [EventRow[]];
}

export const DEFAULT_LIMITS = {
  maxRunningRuns: 100,
  maxRunningRunsTotal: 1000,
  defaultStepTimeoutMs: 3_600_000,
} as const;

export const LOG_MEDIA_TYPE = 'application/x-ndjson';

export class Scheduler extends SchedulerCore {
  readonly events = new EventEmitter<SchedulerEvents>();
  private readonly store: Store;
  private readonly pool: StepRunner;
  private readonly logs: LogSink;
  private readonly plans: PlanCache;
  private state: 'running' | 'draining' | 'stopped' = 'running';
  private scheduled = false;
  private pendingIO = 0;
  private flushFailures = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(o: SchedulerOptions) {
    const store = o.store;
    super(new GroupCommit(store), o.clock ?? systemClock, o.logger, { ...DEFAULT_LIMITS, ...o.limits });
    this.store = store;
    this.pool = o.pool;
    this.logs = o.logs;
    this.plans = o.plans;
    this.events.setMaxListeners(0);
  }

  /** False once draining: new runs are refused (503). */
  get accepting(): boolean {
    return this.state === 'running';
  }

  /** Runs of a tenant waiting to start (the `maxQueuedRuns` quota counts these). */
  queuedCount(tenant: string): number {
    return this.runQueue.sizeOf(tenant);
  }

  /** Per-tenant queue depth and running runs (health, metrics). */
  queueStats(tenants?: readonly string[]): Array<{ tenant: string; queued: number; running: number }> {
    const active = [...this.runningByTenant].filter(([, n]) => n > 0).map(([t]) => t);
    const names = tenants ? [...tenants].sort() : [...new Set([...this.runQueue.tenants(), ...active])].sort();
    return names.map((tenant) => ({
      tenant,
      queued: this.runQueue.sizeOf(tenant),
      running: this.runningByTenant.get(tenant) ?? 0,
    }));
  }

  /**
   * Queue depth by tenant for health and metrics (ops' `QueueStats`): `'*'` lists the tenants
   * with runs queued or running; a list gives exactly those tenants (zeros included).
   */
  depthByTenant(tenants: '*' | readonly string[]): Array<{ tenant: string; queued: number; running: number }> {
    return this.queueStats(tenants === '*' ? undefined : tenants);
  }

  /** Steps handed to the pool (or having their result recorded) right now. */
  get stepsInFlight(): number {
    return this.inFlight;
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

  /** A new run's live state (nothing stored yet). */
  newRun(row: RunRow, info: PlanInfo): LiveRun {
    return liveRun(row, info);
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
      status: row.status, tsMs: row.startedMs, traceId: row.traceId,
    });
  }

  /** The run's insert committed: queue it and publish its first event. */
  admitted(run: LiveRun, started: EventRow): void {
    this.live.set(run.runId, run);
    this.runQueue.push(run.tenant, run);
    this.events.emit('committed', [started]);
    this.kick();
  }

  /**
   * Cancels a run in flight. Returns true when this call moved it; false when it is not in
   * flight here, or already cancelling. Call inside {@link transact} so the change commits
   * with the request.
   */
  cancel(tenant: string, runId: string, reason: string | null): boolean {
    const run = this.live.get(runId);
    if (!run || run.tenant !== tenant || run.cancelRequested || isRunTerminal(run.status)) return false;
    run.cancelReason = reason;
    this.stopRun(run, 'cancel');
    return true;
  }

  /**
   * Runs `work` (which may change live state), writes everything pending, then builds the
   * answer with `answer`, all in the transaction `commit` opens (the request's, with its
   * idempotency record); publishes after it committed. If the transaction fails, the changes
   * stay pending for the next turn.
   */
  transact<T>(commit: (fn: () => T) => T, work: () => void, answer: () => T): T {
    let batch: ReturnType<GroupCommit['take']> | undefined;
    let rows: EventRow[] = [];
    try {
      const out = commit(() => {
        work();
        batch = this.gc.take();
        rows = this.gc.write(batch);
        return answer();
      });
      if (batch) this.published(batch, rows);
      return out;
    } catch (e) {
      if (batch) this.gc.restore(batch);
      this.kick();
      throw e;
    }
  }

  /** Stops admitting runs and dispatching steps (new runs get 503); in-flight steps go on. */
  beginDrain(): void {
    if (this.state !== 'running') return;
    this.state = 'draining';
    this.timers.stop();
  }

  /**
   * Drains: waits up to `timeoutMs` for the steps in flight to end and be recorded, commits,
   * and stops. Whatever is still running is left as it is in the database: the next start
   * recovers it (ORCHESTRATOR_RESTART).
   */
  async drain(timeoutMs: number): Promise<void> {
    this.beginDrain();
    if (this.state === 'stopped') return;
    if (this.inFlight > 0 || this.pendingIO > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    }
    this.flush();
    this.state = 'stopped';
  }

  protected kick(): void {
    if (this.scheduled || this.state === 'stopped') return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  protected dispatchAfterCommit(d: Dispatch): void {
    this.gc.afterCommit(() => this.send(d));
  }

  protected abortTask(step: LiveStep): void {
    this.gc.afterCommit(() => {
      if (step.taskId !== null) this.pool.abort(step.taskId, 'cancel');
    });
  }

  private turn(): void {
    this.scheduled = false;
    if (this.state === 'stopped') return;
    try {
      this.pump();
      this.flush();
    } catch (err) {
      this.logger.error({ err }, 'scheduler turn failed');
    }
    this.checkIdle();
  }

  private pump(): void {
    if (this.state !== 'running') return;
    const perTenant = this.limits.maxRunningRuns;
    while (this.runningTotal < this.limits.maxRunningRunsTotal) {
      const p = this.runQueue.take((t) => (this.runningByTenant.get(t) ?? 0) < perTenant);
      if (!p) break;
      this.startRun(p.item);
    }
    while (this.inFlight < this.limits.maxInFlightSteps) {
      const p = this.readyRing.peekNext();
      if (!p) break;
      const run = p.item;
      const idx = run.ready.pop();
      if (run.ready.size === 0) {
        this.readyRing.shift(p.tenant);
        run.inReadyRing = false;
      }
      if (idx === undefined) continue;
      const s = run.steps[idx]!;
      if (s.status === 'queued') this.startAttempt(s);
    }
  }

  /** Group commit of everything pending; on failure it stays pending and is retried. */
  private flush(): void {
    if (!this.gc.isPending) return;
    const batch = this.gc.take();
    let rows: EventRow[];
    try {
      rows = this.store.tx(() => this.gc.write(batch));
    } catch (err) {
      this.gc.restore(batch);
      const wait = Math.min(5000, 20 * 2 ** Math.min(this.flushFailures++, 8));
      this.logger.error({ err, retryInMs: wait }, 'group commit failed; will retry');
      setTimeout(() => this.kick(), wait).unref();
      return;
    }
    this.flushFailures = 0;
    this.published(batch, rows);
  }

  private published(batch: ReturnType<GroupCommit['take']>, rows: EventRow[]): void {
    for (const fn of batch.after) {
      try {
        fn();
      } catch (err) {
        this.logger.error({ err }, 'post-commit action failed');
      }
    }
    if (rows.length > 0) this.events.emit('committed', rows);
  }

  private send(d: Dispatch): void {
    const { step, attempt, inputs } = d;
    if (this.state === 'stopped' || step.status !== 'running' || step.attempt !== attempt) return;
    const run = step.run;
    const timeoutMs = step.def.timeoutMs ?? this.limits.defaultStepTimeoutMs;
    if (step.abortRequested) return this.onResult(step, attempt, abortResult('cancel', timeoutMs, ''));
    const taskId = `${run.runId}/${step.def.id}/${attempt}`;
    step.taskId = taskId;
    this.pool
      .run({ taskId, plugin: step.def.plugin, inputs, tenant: run.tenant, runId: run.runId, stepId: step.def.id, attempt, timeoutMs })
      .then(
        (r) => this.onResult(step, attempt, r),
        (err: unknown) => {
          this.logger.error({ err, runId: run.runId, stepId: step.def.id }, 'pool refused a step');
          this.onResult(step, attempt, failedResult('ENGINE_ERROR', 'the worker pool refused the step', true));
        },
      );
  }

  /** A result from the pool: store its log (if any) in the CAS, then record it. */
  private onResult(step: LiveStep, attempt: number, r: StepResult): void {
    if (this.state === 'stopped' || step.status !== 'running' || step.attempt !== attempt || !step.inFlight) return;
    if (!r.logs) {
      this.finishAttempt(step, r, null);
      this.kick();
      return;
    }
    this.pendingIO++;
    const tenant = step.run.tenant;
    this.logs.put(r.logs).then(
      ({ hash, size }) => {
        this.gc.artifact({ tenant, hash, size, mediaType: LOG_MEDIA_TYPE, createdMs: this.clock.now() });
        return hash;
      },
      (err: unknown) => {
        this.logger.error({ err, runId: step.run.runId, stepId: step.def.id }, 'could not store a step log');
        return null;
      },
    ).then((ref) => {
      this.pendingIO--;
      if (this.state !== 'stopped' && step.status === 'running' && step.attempt === attempt) {
        this.finishAttempt(step, r, ref);
        this.kick();
      }
      this.checkIdle();
    });
  }

  private checkIdle(): void {
    if (this.inFlight === 0 && this.pendingIO === 0 && this.idleWaiters.length > 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
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
      addInFlight: (s: LiveStep) => {
        s.inFlight = true;
        s.run.inFlight++;
        this.inFlight++;
      },
    };
  }
}
