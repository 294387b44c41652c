/**
 * The scheduler: event-driven, never polling (ENGINE-NOTES). What moves a run is a step
 * result from the pool, a due timer, a new run or a cancel; each mutates the live state and
 * asks for one turn of the loop (`setImmediate`). A turn admits queued runs (per-tenant FIFO,
 * round-robin across tenants, capped per tenant and overall), dispatches ready steps
 * (round-robin across tenants, capped by the pool's capacity) and writes every change of the
 * turn in ONE transaction with its events (group commit). Only then are steps handed to the
 * pool, aborts sent and events published on {@link Scheduler.events}.
 *
 * This class is a facade: it builds the parts, wires them and keeps the public API. The parts
 * hold each other by reference: the state machine (`machine.ts`: live runs, transitions,
 * timers), admission (`admission.ts`: queues, running counts, step slots), the loop (`loop.ts`:
 * turns, the pool; the machine's port), the group commit (`commit.ts`: what is pending; `flush.ts`:
 * writing it through the store ports, one flush in flight) and
 * recovery (`recovery.ts`, on the machine's public methods).
 *
 * @example
 * const scheduler = new Scheduler({ ports, pool, logs: cas, plans, logger, limits, checkpointer });
 * await scheduler.recover();                 // before serving
 * scheduler.events.on('committed', (rows) => stream.publish(rows));
 * await scheduler.drain(30_000);             // SIGTERM
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../core/index.js';
import type { PinEntry } from '../../dags/index.js';
import type { Checkpointer, EventRow, NewEvent, Ports, RunRow, StorePorts } from '../../store/index.js';
import { actorDetail } from '../../events/actor.js';
import { Admission, type SchedulerLimits } from './admission.js';
import { GroupCommit } from './commit.js';
import { liveRun, type LiveRun } from './live.js';
import { RunMachine } from './machine.js';
import type { PlanCache, PlanInfo } from './plans.js';
import { recoverRuns } from './recovery.js';
import { NodeLeases, type SchedulerNode } from './node.js';
import { SchedulerLoop, type LogSink, type PinnedPlugins, type SchedulerEvents, type StepRunner } from './loop.js';

export { LOG_MEDIA_TYPE } from './loop.js';
export type { LogSink, PinnedPlugins, SchedulerEvents, StepRunner } from './loop.js';
export type { SchedulerLimits } from './admission.js';
export type { SchedulerNode } from './node.js';

export interface SchedulerOptions {
  /** Where the engine's state is read at recovery and written by the group commit. */
  ports: StorePorts;
  pool: StepRunner;
  /** Resolves each step's pinned plugin at dispatch; the pool is handed the resolved plugin. */
  plugins: PinnedPlugins;
  logs: LogSink;
  plans: PlanCache;
  logger: Logger;
  clock?: Clock;
  /** Every capacity setting (the server's: `cli/config.ts`'s `schedulerLimits`). */
  limits: SchedulerLimits;
  /**
   * The SQLite store's background WAL checkpoints (`store.startBackgroundCheckpoints`), stopped
   * once the drain's last commit is written; none for PostgreSQL.
   */
  checkpointer?: Checkpointer | null;
  /**
   * This process as one node of several on one PostgreSQL database (`cli/config.ts`
   * `schedulerNode`): runs are held by lease, every group commit is fenced, runs of dead nodes
   * are taken over (`node.ts`). Absent on the embedded SQLite store (one process): nothing of it runs.
   */
  node?: SchedulerNode;
}

/** A new run's `run.started` event (its status `queued`, its actor in `detail`). */
export function runStartedEvent(row: RunRow): NewEvent {
  return {
    tenant: row.tenant, type: 'run.started', dagId: row.dagId, runId: row.runId, stepId: null,
    status: row.status, tsMs: row.startedMs, traceId: row.traceId, scheduleId: row.scheduleId ?? null,
    detail: actorDetail(row.createdBy),
  };
}

export class Scheduler {
  /** Events just made durable, in commit order (`committed`). */
  readonly events: EventEmitter<SchedulerEvents>;
  private readonly ports: StorePorts;
  private readonly plans: PlanCache;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly admission: Admission;
  private readonly machine: RunMachine;
  private readonly loop: SchedulerLoop;
  /** WAL checkpoints on a background thread, not inside a group commit (the store's). */
  private readonly checkpointer: Checkpointer | null;
  /** This process as one node of several (null: the embedded store's one process). */
  private readonly node: NodeLeases | null;

  constructor(o: SchedulerOptions) {
    const limits = o.limits;
    const clock = o.clock ?? systemClock;
    const gc = new GroupCommit();
    this.ports = o.ports;
    this.plans = o.plans;
    this.logger = o.logger;
    this.clock = clock;
    this.admission = new Admission(limits);
    this.node = o.node
      ? new NodeLeases({
        node: o.node, ports: o.ports, gc, admission: this.admission, limits, plans: o.plans, logger: o.logger, now: () => clock.now(),
        abort: (taskId) => o.pool.abort(taskId, 'cancel'), kick: () => this.loop.kick(), accepting: () => this.loop.accepting,
      })
      : null;
    this.loop = new SchedulerLoop({
      ports: o.ports, pool: o.pool, plugins: o.plugins, logs: o.logs, clock, logger: o.logger,
      gc, admission: this.admission, defaultStepTimeoutMs: limits.defaultStepTimeoutMs, fencing: this.node ?? undefined,
    });
    this.machine = new RunMachine(gc, clock, o.logger, this.admission, this.loop);
    this.loop.drive(this.machine);
    this.node?.drive(this.machine);
    this.events = this.loop.events;
    this.checkpointer = o.checkpointer ?? null;
  }

  /** False once draining: new runs are refused (503). */
  get accepting(): boolean {
    return this.loop.accepting;
  }

  /** Steps handed to the pool (or having their result recorded) right now. */
  get stepsInFlight(): number {
    return this.admission.stepsInFlight;
  }

  /** See {@link SchedulerLoop.transact}: `work` and the pending changes commit in the caller's transaction. */
  transact<T>(commit: (fn: (tx: Ports) => Promise<T>) => Promise<T>, work: () => void, answer: (tx: Ports) => Promise<T>): Promise<T> {
    return this.loop.transact(commit, work, answer);
  }

  /** Stops admitting runs and dispatching steps (new runs get 503); in-flight steps go on. */
  beginDrain(): void {
    this.loop.beginDrain();
  }

  /**
   * Drains: waits up to `timeoutMs` for the steps in flight to end and be recorded, commits,
   * and stops; then stops the background checkpoints. What is still running is recovered at
   * the next start (ORCHESTRATOR_RESTART); a node leaves after its last commit, so another node
   * takes those runs over at once.
   */
  async drain(timeoutMs: number): Promise<void> {
    await this.loop.drain(timeoutMs);
    await this.node?.leave();
    await this.checkpointer?.stop();
  }

  /** Runs of a tenant waiting to start (the `maxQueuedRuns` quota counts these). */
  queuedCount(tenant: string): number {
    return this.admission.queuedCount(tenant);
  }

  /**
   * Queue depth by tenant for health and metrics (ops' `QueueStats`): `'*'` lists the tenants
   * with runs queued or running; a list gives exactly those tenants (zeros included).
   */
  depthByTenant(tenants: '*' | readonly string[]): Array<{ tenant: string; queued: number; running: number }> {
    return this.admission.depthByTenant(tenants);
  }

  /**
   * Loads every run left in flight by the last process and makes its state consistent (see
   * `recovery.ts`), then commits that (and the first dispatches). Call once, and wait for it,
   * before serving. A node (`node`) instead joins: its first heartbeat, then the runs no live
   * node holds, as many as it has room for, then a heartbeat every `heartbeatMs`; it must have
   * joined before it starts runs.
   */
  async recover(): Promise<number> {
    const d = { ports: this.ports, plans: this.plans, logger: this.logger, now: this.clock.now(), machine: this.machine };
    const n = this.node ? await this.node.start() : await recoverRuns(d);
    this.loop.pump();
    await this.loop.settled();
    return n;
  }

  /**
   * A node's heartbeat now, as the timer does every `heartbeatMs`: renews the lease, drops the
   * runs another node took meanwhile (aborting their steps), takes runs no live node holds.
   * Nothing without a node.
   */
  async heartbeat(): Promise<void> {
    await this.node?.beat();
  }

  /** A new run's live state (nothing stored yet); `pins` are its DAG version's plugin pins. */
  newRun(row: RunRow, info: PlanInfo, pins: ReadonlyMap<string, PinEntry> | null): LiveRun {
    return liveRun(row, info, pins);
  }

  /**
   * Writes a new run, its steps and its `run.started` event through `tx`, the request's
   * transaction; call {@link admitted} once that has committed.
   */
  async insertRun(tx: Ports, row: RunRow, run: LiveRun): Promise<EventRow> {
    await tx.runs.createRun(row, run.info.plan.steps.map((s) => ({ stepId: s.id, topoIndex: s.index })));
    if (this.node) await this.node.own(tx, row, run);
    const [started] = await tx.events.append([runStartedEvent(row)]);
    return started!;
  }

  /**
   * The runs' inserts committed: queue them and publish the events of that commit (their
   * `run.started`, and whatever else it wrote), in seq order.
   */
  admitted(runs: readonly LiveRun[], events: EventRow[]): void {
    for (const run of runs) {
      this.node?.admitted(run);
      this.machine.admit(run);
    }
    if (events.length > 0) this.events.emit('committed', events);
    this.loop.kick();
  }

  /**
   * One node of several: makes the run held here (taken from the node that runs it) so that
   * {@link cancel} can move it; call before {@link transact}. Nothing without a node, or when
   * the run is in flight here or ended.
   */
  async hold(runId: string): Promise<void> {
    await this.node?.hold(runId);
  }

  /**
   * Cancels a run in flight; `actor` and `reason` go on its cancel events (`cancelling`,
   * `cancelled`) and its row. Returns true when this call moved it; false when it is not in
   * flight here, or already cancelling. Call inside {@link transact} so the change commits
   * with the request.
   */
  cancel(tenant: string, runId: string, reason: string | null, actor: string | null = null): boolean {
    return this.machine.cancel(tenant, runId, reason, actor);
  }
}
