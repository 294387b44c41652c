/**
 * The engine as one node of several on one PostgreSQL database (docs/SCALE-OUT.md, "Ownership and
 * fencing"; CONTRACT §15). Every run not ended is held by one node at an epoch (`LeasePort`): a run
 * this node starts is its own in the transaction that creates it; the node renews its lease every
 * `heartbeatMs` (sooner when another node's lease is running out) and then takes runs no live node
 * holds (`claim`, as many as it has room for), loading them with recovery's own code
 * (`recovery.ts`). Every group commit carries the epochs of the runs it touches and releases the
 * runs it ends; when it is refused (`LeaseLost`: another node took those runs after this one's
 * lease ran out), the runs are dropped here — their steps aborted, nothing written or published for
 * them — and the rest of the batch is written again without them. Draining leaves (`leave`), so
 * another node takes what is left at once. Without a node (the embedded SQLite store, one process)
 * none of this exists and nothing is slower.
 *
 * @example
 * const node = new NodeLeases({ node: { id: 'node-a', leaseMs: 10_000, heartbeatMs: 3_333 }, ports, … });
 * node.drive(machine);
 * await node.start(); // heartbeat, take the runs it held or no live node holds, then every heartbeatMs
 */
import type { Logger } from 'pino';
import type { CommitBatch, HeldRun, Ports, RunRow, StorePorts } from '../../store/index.js';
import type { Admission, SchedulerLimits } from './admission.js';
import type { Batch, GroupCommit } from './commit.js';
import type { LiveRun } from './live.js';
import type { RunMachine } from './machine.js';
import type { PlanCache } from './plans.js';
import { nextBeatDelay } from './lease-expiry.js';
import { loadRuns } from './recovery.js';
import { isRunTerminal, isStepTerminal } from './states.js';

/** This process as a node of the installation (`cli/config.ts` `schedulerNode`). */
export interface SchedulerNode {
  /** Unique among the nodes of the installation (`--node-id`; default hostname, pid and a random part). */
  id: string;
  /** A lease is valid this long after the heartbeat that renewed it (`--lease-timeout`). */
  leaseMs: number;
  /** Renew the lease this often (a third of `leaseMs`). */
  heartbeatMs: number;
}

/** What the group commit asks of the node (flush.ts). */
export interface Fencing {
  /** The fence of a batch: the runs it touches at this node's epochs, and the runs it ends. */
  fenceOf(b: Batch): NonNullable<CommitBatch['fence']>;
  /** A batch committed: the runs it ended (its fence's `release`, as written) are no longer held. */
  committed(fence: NonNullable<CommitBatch['fence']>): void;
  /** A batch was refused for these runs (`LeaseLost`): drop them here. */
  lost(runIds: readonly string[]): void;
}

export interface NodeParts {
  node: SchedulerNode;
  ports: StorePorts;
  gc: GroupCommit;
  admission: Admission;
  limits: Pick<SchedulerLimits, 'maxInFlightSteps' | 'maxRunningRunsTotal'>;
  plans: PlanCache;
  logger: Logger;
  now: () => number;
  /** Aborts a step's task in the pool now (not after a commit: the run is no longer ours). */
  abort: (taskId: string) => void;
  /** Asks for a turn of the loop. */
  kick: () => void;
  /** False once draining: no more runs are taken. */
  accepting: () => boolean;
}

export class NodeLeases implements Fencing {
  /** The runs this node holds, by run id, at the epoch it took them with. */
  private readonly held = new Map<string, number>();
  /** Epochs of runs created in a transaction not yet committed (moved to `held` once admitted). */
  private readonly owning = new WeakMap<LiveRun, number>();
  private machine!: RunMachine;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private stopped = false;
  /** Ms to the next heartbeat, once a heartbeat planned it (lease-expiry.ts); `heartbeatMs` before. */
  private nextBeatMs?: number;

  constructor(private readonly p: NodeParts) {}

  get id(): string {
    return this.p.node.id;
  }

  /** Connects the state machine the runs are loaded into; call once, before {@link start}. */
  drive(machine: RunMachine): void {
    this.machine = machine;
  }

  /** Runs held now (tests, metrics). */
  get heldCount(): number {
    return this.held.size;
  }

  /**
   * Joins: the first heartbeat, then the runs this node id held before (a restart that kept
   * its `--node-id`) and the runs no live node holds; then a heartbeat every `heartbeatMs`.
   * Returns how many runs were loaded.
   */
  async start(): Promise<number> {
    const { ports, node } = this.p;
    const beat = await ports.leases.heartbeat(node.id, node.leaseMs, this.room());
    const mine = await ports.leases.held(node.id);
    const n = (await this.load(mine, 'the orchestrator restarted while this attempt was running')) + (await this.take());
    await this.planNextBeat(beat.heartbeatMs);
    this.schedule();
    return n;
  }

  /** Records a new run's ownership in the transaction that creates it. */
  async own(tx: Ports, row: RunRow, run: LiveRun): Promise<void> {
    this.owning.set(run, await tx.leases.own(row.tenant, row.runId, this.p.node.id));
  }

  /** The run's creation committed: it is held from now on. */
  admitted(run: LiveRun): void {
    const epoch = this.owning.get(run);
    if (epoch !== undefined) this.held.set(run.runId, epoch);
  }

  /**
   * Makes a run held here, so that a cancel that reached this node can move it: taken from the
   * node that holds it, live or not, and loaded as a take-over loads it. That node's next
   * heartbeat (or commit) finds the run gone and aborts its steps. Nothing when the run is live
   * here already, or ended — or held here while the commit that ends it is in flight (taking it
   * from this node itself would fence that commit out and lose the run's end).
   */
  async hold(runId: string): Promise<void> {
    if (this.machine.live.get(runId) || this.held.has(runId)) return;
    const h = await this.p.ports.leases.take(this.p.node.id, runId);
    if (h) await this.load([h], `node ${this.p.node.id} took the run over to cancel it; the node that ran this attempt stops it`);
  }

  fenceOf(b: Batch): NonNullable<CommitBatch['fence']> {
    const ids = new Set<string>();
    for (const r of b.runs) ids.add(r.runId);
    for (const s of b.steps) ids.add(s.run.runId);
    for (const a of b.attempts) ids.add(a.step.run.runId);
    for (const a of b.artifacts) ids.add(a.holder);
    for (const e of b.events) ids.add(e.runId);
    // A run not held here (epoch -1) can never pass the fence: its changes are refused, not written.
    const runs = Array.from(ids, (runId) => ({ runId, epoch: this.held.get(runId) ?? -1 }));
    // Taken with the batch's rows (commitBatchOf, the same turn): the runs whose written status ends them.
    const release: string[] = [];
    for (const r of b.runs) if (isRunTerminal(r.status)) release.push(r.runId);
    return { nodeId: this.p.node.id, runs, release };
  }

  /**
   * Only the runs the batch released: a run that ended in memory while the batch was being
   * written stays held until the next batch writes its end (else that batch is fenced out at
   * epoch -1 and the run's end, its terminal event, lost).
   */
  committed(fence: NonNullable<CommitBatch['fence']>): void {
    for (const id of fence.release ?? []) this.held.delete(id);
  }

  lost(runIds: readonly string[]): void {
    const ids = new Set(runIds);
    this.p.gc.drop(ids);
    for (const id of ids) {
      this.held.delete(id);
      const run = this.machine.live.get(id);
      this.machine.live.delete(id);
      if (run) this.halt(run);
    }
    this.p.logger.warn({ node: this.p.node.id, runs: runIds.length, runIds: runIds.slice(0, 10) }, 'node: another node took runs over (this node\'s lease ran out); dropped them here');
    this.p.kick();
  }

  /** Stops the heartbeat and waits for one in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.beating;
  }

  /** Leaves (after the drain's last commit): the runs still held are free for other nodes at once. */
  async leave(): Promise<void> {
    await this.stop();
    try {
      const n = await this.p.ports.leases.leave(this.p.node.id);
      this.held.clear();
      this.p.logger.info({ node: this.p.node.id, runs: n }, 'node: left; runs still in flight handed back');
    } catch (err) {
      this.p.logger.error({ err, node: this.p.node.id }, 'node: leaving failed; other nodes take its runs once its lease runs out');
    }
  }

  /** One heartbeat: renew the lease, drop the runs another node took meanwhile, then take runs no live node holds. */
  async beat(): Promise<void> {
    const { ports, node, logger } = this.p;
    try {
      const beat = await ports.leases.heartbeat(node.id, node.leaseMs, this.room());
      await this.check();
      await this.take();
      await this.planNextBeat(beat.heartbeatMs);
    } catch (err) {
      this.nextBeatMs = undefined;
      logger.error({ err, node: node.id }, 'node: heartbeat failed; will retry (past the lease, other nodes take its runs and its commits for them are refused)');
    }
  }

  /**
   * Drops the runs held here that the database says this node no longer holds (taken over
   * while its lease had run out), so their steps stop now rather than at their next commit.
   * Only runs held before the read began and still held at the same epoch count: a run created
   * or ended while it was in flight is not mistaken for a lost one.
   */
  private async check(): Promise<void> {
    const before = new Map(this.held);
    const still = new Map((await this.p.ports.leases.held(this.p.node.id)).map((h) => [h.runId, h.epoch]));
    const gone: string[] = [];
    for (const [id, epoch] of before) {
      if (still.get(id) === epoch || this.held.get(id) !== epoch) continue;
      const run = this.machine.live.get(id);
      // Ended here, its release committing now: not lost.
      if (!run || !isRunTerminal(run.status)) gone.push(id);
    }
    if (gone.length > 0) this.lost(gone);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.beating = this.beat().finally(() => {
        this.beating = null;
        this.schedule();
      });
    }, this.nextBeatMs ?? this.p.node.heartbeatMs);
    this.timer.unref();
  }

  /** The next heartbeat: after `heartbeatMs`, or just after another node's lease runs out if sooner (lease-expiry.ts). */
  private async planNextBeat(dbNowMs: number): Promise<void> {
    this.nextBeatMs = nextBeatDelay(await this.p.ports.leases.nodes(), this.p.node, dbNowMs);
  }

  /** Free step slots, less the runs waiting here for one: how many runs this node may take now. */
  private room(): number {
    const { admission, limits } = this.p;
    const slots = limits.maxInFlightSteps - admission.stepsInFlight - admission.queuedTotal;
    return Math.max(0, Math.min(slots, limits.maxRunningRunsTotal - admission.runningTotal));
  }

  /** Claims runs by free room and loads them; returns how many were loaded. */
  private async take(): Promise<number> {
    if (!this.p.accepting() || this.stopped) return 0;
    const limit = this.room();
    if (limit === 0) return 0;
    const taken = await this.p.ports.leases.claim(this.p.node.id, limit);
    if (taken.length === 0) return 0;
    const from = [...new Set(taken.map((t) => t.from ?? 'none'))].join(', ');
    const n = await this.load(taken, `the node running this attempt stopped (${from}); node ${this.p.node.id} took the run over`);
    this.p.logger.info({ node: this.p.node.id, runs: n, from }, 'node: took runs over');
    return n;
  }

  /** Loads held runs with recovery's code; a stale copy of one still in memory is dropped first. */
  private async load(runs: readonly HeldRun[], why: string): Promise<number> {
    const { ports, logger, plans } = this.p;
    const rows: RunRow[] = [];
    for (const h of runs) {
      if (this.machine.live.get(h.runId)) this.lost([h.runId]);
      this.held.set(h.runId, h.epoch);
      const row = await ports.runs.get(h.tenant, h.runId);
      if (row && !isRunTerminal(row.status)) rows.push(row);
      else if (row) await ports.leases.release(this.p.node.id, [h.runId]);
    }
    const n = await loadRuns({ ports, plans, logger, now: this.p.now(), machine: this.machine }, rows, why);
    if (n > 0) this.p.kick();
    return n;
  }

  /** A lost run's memory: out of the queues and slots, its tasks aborted, its steps inert. */
  private halt(run: LiveRun): void {
    const { admission } = this.p;
    if (run.status === 'queued') admission.unqueueRun(run);
    if (run.counted) {
      run.counted = false;
      admission.runEnded(run.tenant);
    }
    run.ready.clear();
    for (const s of run.steps) {
      if (s.inFlight) {
        s.inFlight = false;
        run.inFlight--;
        admission.slotFreed(run.tenant);
      }
      if (s.taskId !== null) this.p.abort(s.taskId);
      s.taskId = null;
      // Memory only (nothing is marked or staged): a pending dispatch, a result, a retry's timer
      // all find the step no longer running, queued or retrying, and do nothing.
      if (!isStepTerminal(s.status)) s.status = 'cancelled';
    }
    run.status = 'cancelled';
  }
}
