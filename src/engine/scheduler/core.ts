/**
 * The scheduler's state transitions over live runs (see `scheduler.ts` for the event loop
 * around them). Every status change goes through {@link SchedulerCore.setRunStatus} /
 * {@link SchedulerCore.setStepStatus}: the state machine is checked, the object is marked for
 * the group commit and its event is staged.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../core/index.js';
import { backoffMs, StepReferenceError } from '../../dags/index.js';
import { assertRunMove, assertStepMove, runOutputsHash, type RunStatus, type StepStatus } from './states.js';
import type { StepResult } from '../pool/pool-types.js';
import { GroupCommit } from './commit.js';
import { attemptInputs, newAttempt, runEvent, stepEvent, type LiveRun, type LiveStep } from './live.js';
import { StepShares, TenantRing } from './queues.js';
import { TimerHeap } from './timers.js';
import { decide } from './triggers.js';

/** A step attempt ready to go to the pool once its `running` state is durable. */
export interface Dispatch {
  step: LiveStep;
  attempt: number;
  inputs: Record<string, unknown>;
}

export type TimerEntry = { kind: 'retry'; step: LiveStep; due: number } | { kind: 'runTimeout'; run: LiveRun };

export interface CoreLimits {
  /** Per tenant: runs executing at once. */
  maxRunningRuns: number;
  /** All tenants: runs executing at once. */
  maxRunningRunsTotal: number;
  /** Steps handed to the pool at once (all tenants): the step slots. */
  maxInFlightSteps: number;
  /** Per tenant: steps in flight at once (default: all the slots). */
  maxStepsPerTenant: number;
  /** Slots only a tenant with nothing in flight may take (default 0); see {@link StepShares}. */
  reservedSteps: number;
  /** Timeout of a step that sets none. */
  defaultStepTimeoutMs: number;
}

export abstract class SchedulerCore {
  /** Runs in flight (queued, running, cancelling) by run id. */
  protected readonly live = new Map<string, LiveRun>();
  /** Queued runs: per-tenant FIFO, served round-robin. */
  protected readonly runQueue = new TenantRing<LiveRun>();
  /** Runs with ready steps: per-tenant FIFO, served round-robin one step at a time. */
  protected readonly readyRing = new TenantRing<LiveRun>();
  protected readonly runningByTenant = new Map<string, number>();
  protected runningTotal = 0;
  /** Steps in flight, per tenant and in all, and who may take the next slot. */
  protected readonly shares: StepShares;
  protected readonly gc: GroupCommit;
  protected readonly timers: TimerHeap<TimerEntry>;

  constructor(
    gc: GroupCommit,
    protected readonly clock: Clock,
    protected readonly logger: Logger,
    protected readonly limits: CoreLimits,
  ) {
    this.gc = gc;
    this.timers = new TimerHeap<TimerEntry>(clock, (e) => this.onTimer(e));
    this.shares = new StepShares({ capacity: limits.maxInFlightSteps, perTenant: limits.maxStepsPerTenant, reserve: limits.reservedSteps });
  }

  /** Steps handed to the pool (or having their result recorded) right now. */
  protected get inFlight(): number {
    return this.shares.total;
  }

  /** A step of the run went to the pool (or, in recovery, was found in flight). */
  protected stepInFlight(step: LiveStep): void {
    step.inFlight = true;
    step.run.inFlight++;
    this.shares.started(step.run.tenant);
  }

  /** Asks the event loop for a turn (pump + group commit). */
  protected abstract kick(): void;
  /** Queues a dispatch until its state is durable. */
  protected abstract dispatchAfterCommit(d: Dispatch): void;
  /** Asks the pool to abort a step's task (after commit). */
  protected abstract abortTask(step: LiveStep): void;

  protected setRunStatus(run: LiveRun, to: RunStatus): void {
    assertRunMove(run.status, to);
    run.status = to;
    this.gc.markRun(run);
    this.gc.event(runEvent(run, to, this.clock.now()));
  }

  protected setStepStatus(step: LiveStep, to: StepStatus): void {
    assertStepMove(step.status, to);
    step.status = to;
    this.gc.markStep(step);
    this.gc.event(stepEvent(step, to, this.clock.now()));
  }

  /** queued → running: counts the run against its tenant and queues its root steps. */
  protected startRun(run: LiveRun): void {
    this.setRunStatus(run, 'running');
    this.count(run);
    for (const i of run.info.roots) {
      const s = run.steps[i]!;
      if (s.status === 'pending') this.markQueued(s);
    }
  }

  protected count(run: LiveRun): void {
    if (run.counted) return;
    run.counted = true;
    this.runningByTenant.set(run.tenant, (this.runningByTenant.get(run.tenant) ?? 0) + 1);
    this.runningTotal++;
    if (run.info.runTimeoutMs !== null) {
      this.timers.add(run.startedMs + run.info.runTimeoutMs, { kind: 'runTimeout', run });
    }
  }

  protected markQueued(step: LiveStep): void {
    this.setStepStatus(step, 'queued');
    this.enqueueReady(step);
  }

  /** Puts a `queued` step in its run's ready heap, and the run in its tenant's ready ring. */
  protected enqueueReady(step: LiveStep): void {
    const run = step.run;
    run.ready.push(step.def.index);
    if (!run.inReadyRing) {
      run.inReadyRing = true;
      this.readyRing.push(run.tenant, run);
    }
  }

  /** queued → running: a new attempt, `with` resolved; the pool gets it after the commit. */
  protected startAttempt(step: LiveStep): void {
    const run = step.run;
    const now = this.clock.now();
    const n = step.attempt + 1;
    step.attempt = n;
    step.startedMs ??= now;
    step.errorCode = step.errorMessage = null;
    step.retryable = step.nextAttemptMs = null;
    step.current = newAttempt(step, n, now);
    this.gc.markAttempt(step.current);
    this.setStepStatus(step, 'running');
    this.stepInFlight(step);
    let inputs: Record<string, unknown>;
    try {
      ({ inputs, hash: step.inputsHash } = attemptInputs(step));
    } catch (e) {
      if (!(e instanceof StepReferenceError)) throw e;
      this.finishAttempt(step, { status: 'failed', error: { code: e.code, message: e.message, retryable: false }, logs: '' }, null);
      return;
    }
    this.dispatchAfterCommit({ step, attempt: n, inputs });
  }

  /** Records the outcome of the step's current attempt and moves the step (and run) on. */
  protected finishAttempt(step: LiveStep, r: StepResult, logsRef: string | null): void {
    const run = step.run;
    const att = step.current!;
    const now = this.clock.now();
    if (step.inFlight) {
      step.inFlight = false;
      run.inFlight--;
      this.shares.ended(run.tenant);
    }
    step.taskId = null;
    att.endedMs = now;
    att.logsRef = logsRef;
    step.logsRef = logsRef;
    this.gc.markAttempt(att);
    if (r.status === 'completed') {
      att.status = 'completed';
      att.outputsHash = r.outputsHash;
      step.outputsHash = r.outputsHash;
      step.outputsJson = r.outputsJson;
      if (run.info.referenced[step.def.index]) step.outputs = r.outputs;
      step.endedMs = now;
      this.setStepStatus(step, 'completed');
      return this.onStepTerminal(step);
    }
    let { code, message } = r.error;
    const aborted = r.status === 'cancelled';
    if (aborted && run.abortCode && !run.cancelRequested) {
      code = run.abortCode;
      message = 'the run exceeded its timeout';
    }
    att.status = aborted && run.cancelRequested ? 'cancelled' : 'failed';
    att.errorCode = step.errorCode = code;
    att.errorMessage = step.errorMessage = message;
    step.retryable = r.error.retryable ? 1 : 0;
    const stopping = run.cancelRequested || run.abortCode !== null;
    if (!stopping && !aborted && r.error.retryable && step.attempt <= step.def.retries.max) {
      step.nextAttemptMs = now + backoffMs(step.def.retries, step.attempt);
      this.setStepStatus(step, 'retrying');
      this.timers.add(step.nextAttemptMs, { kind: 'retry', step, due: step.nextAttemptMs });
      return;
    }
    step.endedMs = now;
    this.setStepStatus(step, run.cancelRequested ? 'cancelled' : 'failed');
    this.onStepTerminal(step);
  }

  /** A step ended: update successors' counters, queue or skip them, end the run when all ended. */
  protected onStepTerminal(first: LiveStep): void {
    const run = first.run;
    const stack = [first];
    const now = this.clock.now();
    while (stack.length) {
      const s = stack.pop()!;
      run.unfinished--;
      if (s.status === 'failed') run.anyFailed = true;
      const completed = s.status === 'completed';
      const failed = s.status === 'failed';
      for (const i of run.info.succs[s.def.index]!) {
        const t = run.steps[i]!;
        t.done++;
        if (completed) t.ok++;
        if (failed) t.failed++;
        if (t.status !== 'pending') continue;
        const d = decide(t.def.trigger, t.def.preds.length, t.done, t.ok, t.failed);
        if (d === 'run') this.markQueued(t);
        else if (d === 'skip') {
          t.endedMs = now;
          this.setStepStatus(t, 'skipped');
          stack.push(t);
        }
      }
    }
    if (run.unfinished === 0) this.finishRun(run);
    else if (run.status === 'cancelling' && run.inFlight === 0) this.finishRun(run);
  }

  protected finishRun(run: LiveRun): void {
    const to: RunStatus = run.cancelRequested ? 'cancelled' : run.anyFailed || run.abortCode ? 'failed' : 'completed';
    run.endedMs = this.clock.now();
    run.outputsHash = runOutputsHash(run.steps.map((s) => ({ stepId: s.def.id, status: s.status, outputsHash: s.outputsHash })));
    this.setRunStatus(run, to);
    if (run.counted) {
      run.counted = false;
      this.runningByTenant.set(run.tenant, (this.runningByTenant.get(run.tenant) ?? 1) - 1);
      this.runningTotal--;
    }
    this.gc.afterCommit(() => this.live.delete(run.runId));
    this.kick();
  }

  /**
   * Stops a run: steps not started end at once (`cancelled`; a step waiting to retry after a
   * timeout `failed`), running ones are aborted through the pool. With `cancel` the run ends
   * `cancelled` (via `cancelling` while steps are in flight); on a timeout it ends `failed`.
   */
  protected stopRun(run: LiveRun, why: 'cancel' | 'RUN_TIMEOUT'): void {
    const now = this.clock.now();
    if (why === 'cancel') run.cancelRequested = true;
    else run.abortCode = why;
    this.gc.markRun(run);
    for (const s of run.steps) {
      if (s.status === 'pending' || s.status === 'queued' || (s.status === 'retrying' && why === 'cancel')) {
        s.endedMs = now;
        this.setStepStatus(s, 'cancelled');
        run.unfinished--;
      } else if (s.status === 'retrying') {
        s.endedMs = now;
        s.errorCode = why;
        s.errorMessage = 'the run exceeded its timeout';
        s.retryable = 0;
        s.nextAttemptMs = null;
        this.setStepStatus(s, 'failed');
        run.unfinished--;
        run.anyFailed = true;
      } else if (s.status === 'running') {
        s.abortRequested = true;
        this.abortTask(s);
      }
    }
    if (run.status === 'queued') {
      this.runQueue.remove(run.tenant, run);
      this.finishRun(run);
    } else if (run.inFlight === 0) this.finishRun(run);
    else if (why === 'cancel') this.setRunStatus(run, 'cancelling');
  }

  private onTimer(e: TimerEntry): void {
    if (e.kind === 'retry') {
      const s = e.step;
      if (s.status !== 'retrying' || s.nextAttemptMs !== e.due) return;
      s.nextAttemptMs = null;
      this.markQueued(s);
    } else {
      const run = e.run;
      if (run.status !== 'running' || run.abortCode || run.cancelRequested) return;
      this.logger.info({ runId: run.runId, tenant: run.tenant }, 'run timed out');
      this.stopRun(run, 'RUN_TIMEOUT');
    }
    this.kick();
  }
}
