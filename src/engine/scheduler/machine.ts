/**
 * The run/step state machine over live runs: which runs are live, every status change, and the
 * group commit that makes them durable. Every move goes through {@link RunMachine.setRunStatus}
 * / {@link RunMachine.setStepStatus}: the transition table (`states.ts`) is checked, the object
 * is marked for the group commit and its event is staged. It owns the timers of its own moves
 * (a retry's back-off, a run's timeout), does no I/O and makes no scheduling decision: it tells
 * {@link Admission} what changed and asks its {@link MachinePort} (the loop) for a turn, a
 * dispatch once durable, an abort. The loop and recovery drive it through its public methods.
 *
 * @example
 * const machine = new RunMachine(gc, clock, logger, admission, loop);
 * machine.admit(run);         // a new run, committed: queued behind its tenant's others
 * machine.startAttempt(step); // queued → running, dispatched after the commit
 */
import type { Logger } from 'pino';
import type { Clock } from '../../core/index.js';
import { backoffMs, StepReferenceError } from '../../dags/index.js';
import { assertRunMove, assertStepMove, isRunTerminal, runOutputsHash, type RunStatus, type StepStatus } from './states.js';
import type { StepResult } from '../pool/pool-types.js';
import type { Admission } from './admission.js';
import type { GroupCommit } from './commit.js';
import { attemptInputs, newAttempt, runEvent, stepEvent, type LiveRun, type LiveStep } from './live.js';
import type { MachinePort, TimerEntry } from './machine-port.js';
import { TimerHeap } from './timers.js';
import { decide } from './triggers.js';

export class RunMachine {
  /** Runs in flight (queued, running, cancelling) by run id; a node (`node.ts`) lets go of the runs it lost. */
  readonly live = new Map<string, LiveRun>();
  private readonly timers: TimerHeap<TimerEntry>;

  constructor(
    private readonly gc: GroupCommit,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly admission: Admission,
    private readonly port: MachinePort,
  ) {
    this.timers = new TimerHeap<TimerEntry>(clock, (e) => this.onTimer(e));
  }

  /** Holds a run in flight (recovery: as the last process left it). */
  adopt(run: LiveRun): void {
    this.live.set(run.runId, run);
  }

  /** Holds a `queued` run in flight and queues it behind its tenant's others. */
  admit(run: LiveRun): void {
    this.live.set(run.runId, run);
    this.admission.queueRun(run);
  }

  /** Stops the timers (drain): no retry or run timeout fires any more. */
  stopTimers(): void {
    this.timers.stop();
  }

  setRunStatus(run: LiveRun, to: RunStatus): void {
    assertRunMove(run.status, to);
    run.status = to;
    this.gc.markRun(run);
    this.gc.event(runEvent(run, to, this.clock.now()));
  }

  setStepStatus(step: LiveStep, to: StepStatus): void {
    assertStepMove(step.status, to);
    step.status = to;
    this.gc.markStep(step);
    this.gc.event(stepEvent(step, to, this.clock.now()));
  }

  /** queued → running: counts the run against its tenant and queues its root steps. */
  startRun(run: LiveRun): void {
    this.setRunStatus(run, 'running');
    this.count(run);
    for (const i of run.info.roots) {
      const s = run.steps[i]!;
      if (s.status === 'pending') this.markQueued(s);
    }
  }

  /** Counts a running run against its tenant (once) and arms its timeout. */
  count(run: LiveRun): void {
    if (run.counted) return;
    run.counted = true;
    this.admission.runStarted(run.tenant);
    if (run.info.runTimeoutMs !== null) {
      this.timers.add(run.startedMs + run.info.runTimeoutMs, { kind: 'runTimeout', run });
    }
  }

  /** pending/retrying → queued, and ready for a slot. */
  markQueued(step: LiveStep): void {
    this.setStepStatus(step, 'queued');
    this.admission.stepReady(step);
  }

  /** A step already `queued` is ready for a slot again (recovery: no status change, no event). */
  requeue(step: LiveStep): void {
    this.admission.stepReady(step);
  }

  /** A step of the run went to the pool (or, in recovery, was found in flight): it holds a slot. */
  stepInFlight(step: LiveStep): void {
    step.inFlight = true;
    step.run.inFlight++;
    this.admission.slotTaken(step.run.tenant);
  }

  /** Arms a retrying step's back-off: it is queued again at `due`. */
  retryAt(step: LiveStep, due: number): void {
    this.timers.add(due, { kind: 'retry', step, due });
  }

  /** queued → running: a new attempt, `with` resolved; the pool gets it after the commit. */
  startAttempt(step: LiveStep): void {
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
    this.port.dispatchAfterCommit({ step, attempt: n, inputs });
  }

  /** Records the outcome of the step's current attempt and moves the step (and run) on. */
  finishAttempt(step: LiveStep, r: StepResult, logsRef: string | null): void {
    const run = step.run;
    const att = step.current!;
    const now = this.clock.now();
    if (step.inFlight) {
      step.inFlight = false;
      run.inFlight--;
      this.admission.slotFreed(run.tenant);
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
      this.retryAt(step, step.nextAttemptMs);
      return;
    }
    step.endedMs = now;
    this.setStepStatus(step, run.cancelRequested ? 'cancelled' : 'failed');
    this.onStepTerminal(step);
  }

  /** pending → skipped (its trigger can never be met), and on from there. */
  skip(step: LiveStep): void {
    step.endedMs = this.clock.now();
    this.setStepStatus(step, 'skipped');
    this.onStepTerminal(step);
  }

  /** A step ended: update successors' counters, queue or skip them, end the run when all ended. */
  private onStepTerminal(first: LiveStep): void {
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

  /** The run's last step ended (or it stopped): its final status; it leaves the live set once durable. */
  finishRun(run: LiveRun): void {
    const to: RunStatus = run.cancelRequested ? 'cancelled' : run.anyFailed || run.abortCode ? 'failed' : 'completed';
    run.endedMs = this.clock.now();
    run.outputsHash = runOutputsHash(run.steps.map((s) => ({ stepId: s.def.id, status: s.status, outputsHash: s.outputsHash })));
    this.setRunStatus(run, to);
    if (run.counted) {
      run.counted = false;
      this.admission.runEnded(run.tenant);
    }
    this.gc.afterCommit(() => this.live.get(run.runId) === run && this.live.delete(run.runId));
    this.port.kick();
  }

  /**
   * Cancels a run in flight of that tenant; `actor` and `reason` go on its cancel events and
   * its row. False when it is not in flight here, or already cancelling.
   */
  cancel(tenant: string, runId: string, reason: string | null, actor: string | null): boolean {
    const run = this.live.get(runId);
    if (!run || run.tenant !== tenant || run.cancelRequested || isRunTerminal(run.status)) return false;
    run.cancelReason = reason;
    run.cancelledBy = actor;
    this.stopRun(run, 'cancel');
    return true;
  }

  /**
   * Stops a run: steps not started end at once (`cancelled`; a step waiting to retry after a
   * timeout `failed`), running ones are aborted through the pool. With `cancel` the run ends
   * `cancelled` (via `cancelling` while steps are in flight); on a timeout it ends `failed`.
   */
  stopRun(run: LiveRun, why: 'cancel' | 'RUN_TIMEOUT'): void {
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
        this.port.abortTask(s);
      }
    }
    if (run.status === 'queued') {
      this.admission.unqueueRun(run);
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
    this.port.kick();
  }
}
