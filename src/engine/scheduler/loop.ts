/**
 * The scheduler's event loop and its I/O. One turn asks {@link Admission} for the queued runs
 * that may start and the ready steps that may take a slot, and drives the state machine
 * (`machine.ts`) through its public methods; then writes everything pending in ONE
 * transaction (group commit, `ports.commitBatch`); after the commit, steps go to the pool,
 * aborts are sent and the events are published. At most one flush is in flight: the next batch
 * builds meanwhile and is written when it resolves (on SQLite it resolves at once; on
 * PostgreSQL the turns go on during the round trips). Results from the pool (their logs stored
 * in the CAS first) feed the next turn. The loop is the machine's {@link MachinePort}. The
 * public API is `scheduler.ts`.
 *
 * @example
 * const loop = new SchedulerLoop({ ports, pool, plugins, logs, clock, logger, gc, admission, defaultStepTimeoutMs });
 * loop.drive(new RunMachine(gc, clock, logger, admission, loop));
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../../core/index.js';
import type { EventRow, Ports, StorePorts } from '../../store/index.js';
import { Flusher } from './flush.js';
import type { PinEntry } from '../../dags/index.js';
import type { PinCheck } from '../plugins/registry.js';
import type { AbortReason } from '../pool/protocol.js';
import { abortResult, failedResult, NOOP, NOOP_RESULT, type StepResult, type StepTask } from '../pool/pool-types.js';
import type { Batch, GroupCommit } from './commit.js';
import type { LiveStep } from './live.js';
import type { Admission } from './admission.js';
import type { RunMachine } from './machine.js';
import type { Dispatch, MachinePort } from './machine-port.js';
import type { Fencing } from './node.js';

/** The part of the worker pool the scheduler uses. */
export interface StepRunner {
  run(task: StepTask): Promise<StepResult>;
  abort(taskId: string, reason?: AbortReason): boolean;
}

/** The plugin a step's pin names, for its run's tenant (the plugin registry). */
export interface PinnedPlugins {
  pinned(tenant: string, pin: PinEntry): PinCheck;
}

/** Step failure code: the plugin its DAG version pinned is not installed, or not with that content. */
export const PLUGIN_UNAVAILABLE = 'PLUGIN_UNAVAILABLE';

/** Where attempt logs go (the content-addressed store). */
export interface LogSink {
  put(data: string): Promise<{ hash: string; size: number }>;
}

export interface SchedulerEvents {
  /** Events just made durable, in commit (and per-tenant seq) order. */
  committed: [EventRow[]];
}

export const LOG_MEDIA_TYPE = 'application/x-ndjson';

/** What the loop is built from (the scheduler facade wires them). */
export interface LoopParts {
  ports: StorePorts;
  pool: StepRunner;
  plugins: PinnedPlugins;
  logs: LogSink;
  clock: Clock;
  logger: Logger;
  gc: GroupCommit;
  admission: Admission;
  /** Timeout of a step that sets none. */
  defaultStepTimeoutMs: number;
  /** One node of several: the group commit is fenced (`node.ts`). */
  fencing?: Fencing;
}

export class SchedulerLoop implements MachinePort {
  readonly events = new EventEmitter<SchedulerEvents>();
  private state: 'running' | 'draining' | 'stopped' = 'running';
  private scheduled = false;
  private pendingIO = 0;
  private idleWaiters: Array<() => void> = [];
  /** The state machine this loop drives (set once by {@link drive}). */
  private machine!: RunMachine;
  /** Writes the group commit: one flush in flight (`flush.ts`). */
  private readonly flusher: Flusher;
  private readonly pool: StepRunner;
  private readonly plugins: PinnedPlugins;
  private readonly logs: LogSink;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly gc: GroupCommit;
  private readonly admission: Admission;
  private readonly defaultStepTimeoutMs: number;

  constructor(p: LoopParts) {
    this.flusher = new Flusher({ ports: p.ports, gc: p.gc, logger: p.logger, kick: () => this.kick(), published: (b, rows) => this.published(b, rows), fencing: p.fencing });
    ({ pool: this.pool, plugins: this.plugins, logs: this.logs, clock: this.clock, logger: this.logger } = p);
    ({ gc: this.gc, admission: this.admission, defaultStepTimeoutMs: this.defaultStepTimeoutMs } = p);
    this.events.setMaxListeners(0);
  }

  /** Connects the state machine whose port this loop is; call once, before the first turn. */
  drive(machine: RunMachine): void {
    this.machine = machine;
  }

  /** False once draining: new runs are refused (503). */
  get accepting(): boolean {
    return this.state === 'running';
  }

  /** Steps handed to the pool (or having their result recorded) right now. */
  get stepsInFlight(): number {
    return this.admission.stepsInFlight;
  }

  /** See {@link Flusher.transact}: `work` and the pending changes commit in the caller's transaction. */
  transact<T>(commit: (fn: (tx: Ports) => Promise<T>) => Promise<T>, work: () => void, answer: (tx: Ports) => Promise<T>): Promise<T> {
    return this.flusher.transact(commit, work, answer);
  }

  /** Stops admitting runs and dispatching steps (new runs get 503); in-flight steps go on. */
  beginDrain(): void {
    if (this.state !== 'running') return;
    this.state = 'draining';
    this.machine.stopTimers();
  }

  /**
   * Drains: waits up to `timeoutMs` for the steps in flight to end and be recorded, commits,
   * and stops. Whatever is still running is left as it is in the database: the next start
   * recovers it (ORCHESTRATOR_RESTART).
   */
  async drain(timeoutMs: number): Promise<void> {
    this.beginDrain();
    if (this.state === 'stopped') return;
    if (this.admission.stepsInFlight > 0 || this.pendingIO > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    }
    await this.settled();
    this.state = 'stopped';
  }

  /** Flushes until nothing is pending or in flight ({@link Flusher.settled}). */
  settled(): Promise<void> {
    return this.flusher.settled();
  }

  kick(): void {
    if (this.scheduled || this.state === 'stopped') return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  dispatchAfterCommit(d: Dispatch): void {
    const found = this.pinnedPlugin(d.step);
    // A noop step runs no code, so there is nothing to isolate: it completes now, in the same
    // commit as its `running` state and with the same events, without a trip to a plugin host
    // (as Airflow's scheduler does with an EmptyOperator; docs/PLUGINS.md). The steps it makes
    // ready are started in this same turn.
    if (found.ok && found.plugin.builtin && found.plugin.name === NOOP) return this.machine.finishAttempt(d.step, NOOP_RESULT, null);
    this.gc.afterCommit(() => this.send(d, found));
  }

  /** Exactly the plugin the step's DAG version pinned at publish, as the run's tenant sees it now. */
  private pinnedPlugin(step: LiveStep): PinCheck {
    const pin = step.run.pins?.get(step.def.plugin);
    const found = pin ? this.plugins.pinned(step.run.tenant, pin) : undefined;
    return found ?? { ok: false, reason: 'missing', message: `the DAG version has no plugin pin for ${step.def.plugin} (stored before pinning; install the plugin and restart or warm)` };
  }

  abortTask(step: LiveStep): void {
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

  /**
   * Admits queued runs, then dispatches ready steps, each round-robin across the tenants that
   * may take one more (docs/RUNS.md, "Fair shares"; {@link Admission}). Public for recovery,
   * which pumps and commits once before serving.
   */
  pump(): void {
    if (this.state !== 'running') return;
    const { admission, machine } = this;
    for (let run = admission.nextRun(); run !== undefined; run = admission.nextRun()) machine.startRun(run);
    for (let s = admission.nextStep(); s !== undefined; s = admission.nextStep()) machine.startAttempt(s);
  }

  /** Group commit of everything pending (one flush in flight: {@link Flusher.flush}). */
  flush(): void {
    this.flusher.flush();
  }

  private published(batch: Batch, rows: EventRow[]): void {
    for (const fn of batch.after) {
      try {
        fn();
      } catch (err) {
        this.logger.error({ err }, 'post-commit action failed');
      }
    }
    if (rows.length > 0) this.events.emit('committed', rows);
  }

  private send(d: Dispatch, found: PinCheck): void {
    const { step, attempt, inputs } = d;
    if (this.state === 'stopped' || step.status !== 'running' || step.attempt !== attempt) return;
    const run = step.run;
    const timeoutMs = step.def.timeoutMs ?? this.defaultStepTimeoutMs;
    if (step.abortRequested) return this.onResult(step, attempt, abortResult('cancel', timeoutMs, ''));
    if (!found.ok) return this.onResult(step, attempt, failedResult(PLUGIN_UNAVAILABLE, found.message, false));
    const taskId = `${run.runId}/${step.def.id}/${attempt}`;
    step.taskId = taskId;
    this.pool
      .run({ taskId, plugin: found.plugin, inputs, tenant: run.tenant, runId: run.runId, stepId: step.def.id, attempt, timeoutMs })
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
      this.machine.finishAttempt(step, r, null);
      this.kick();
      return;
    }
    this.pendingIO++;
    const tenant = step.run.tenant;
    this.logs.put(r.logs).then(
      ({ hash, size }) => {
        this.gc.artifact({ tenant, hash, size, mediaType: LOG_MEDIA_TYPE, createdMs: this.clock.now(), holder: step.run.runId });
        return hash;
      },
      (err: unknown) => {
        this.logger.error({ err, runId: step.run.runId, stepId: step.def.id }, 'could not store a step log');
        return null;
      },
    ).then((ref) => {
      this.pendingIO--;
      if (this.state !== 'stopped' && step.status === 'running' && step.attempt === attempt) {
        this.machine.finishAttempt(step, r, ref);
        this.kick();
      }
      this.checkIdle();
    });
  }

  private checkIdle(): void {
    if (this.admission.stepsInFlight === 0 && this.pendingIO === 0 && this.idleWaiters.length > 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}
