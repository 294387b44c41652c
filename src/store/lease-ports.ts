/**
 * The ports of run ownership by lease, with fencing (docs/SCALE-OUT.md, "Ownership and
 * fencing"): several nodes on one database, each run not ended held by one live node.
 * Re-exported by ports.ts, where `Ports.leases` and `CommitBatch.fence` use them.
 */

/** A run a node holds, at the epoch it took it with. */
export interface HeldRun {
  runId: string;
  tenant: string;
  epoch: number;
}

/** A node of the installation as its last heartbeat left it (times: the database's clock). */
export interface NodeRow {
  nodeId: string;
  startedMs: number;
  heartbeatMs: number;
  leaseUntilMs: number;
  capacity: number;
}

/**
 * Run ownership by lease, with fencing (docs/SCALE-OUT.md, "Ownership and fencing"). A node
 * renews its lease with {@link heartbeat}; the runs not yet ended each name the node that runs
 * them (or none) and an epoch. A node takes runs with {@link claim} — runs no node holds, and the
 * runs of nodes whose lease ran out — which increments each run's epoch; every group commit of a
 * node checks, in its own transaction, that it still holds its runs at their epochs
 * ({@link fence}), so a node that was paused and lost a run never commits for it again. Lease
 * times are the database's clock (`nowMs` is never taken from a node), so clock skew between
 * nodes does not matter.
 *
 * @example
 * await ports.leases.heartbeat('node-a', 10_000, 8);
 * const taken = await ports.leases.claim('node-a', 50); // runs of dead nodes and unheld runs
 * await ports.transaction(async (tx) => {
 *   const lost = await tx.leases.fence('node-a', held);  // rows still ours stay locked until commit
 *   if (lost.length === 0) { … write … }
 * });
 */
export interface LeasePort {
  /** Creates or renews the node's lease: valid `leaseMs` from now; `capacity`: its free step slots. */
  heartbeat(nodeId: string, leaseMs: number, capacity: number): Promise<NodeRow>;
  /** Every node with its lease, and whether it is still valid now; by nodeId. */
  nodes(): Promise<Array<NodeRow & { live: boolean }>>;
  /**
   * Records a new run's ownership, in the transaction that creates the run: held by `nodeId`
   * (epoch 1) or by no node yet (`null`, epoch 0). Returns the epoch.
   */
  own(tenant: string, runId: string, nodeId: string | null): Promise<number>;
  /**
   * Takes up to `limit` runs that no node holds or whose node's lease ran out (or which name a
   * node that left), oldest run first; each run's epoch goes up by one. Concurrent claims of
   * several nodes never take the same run.
   */
  claim(nodeId: string, limit: number): Promise<Array<HeldRun & { from: string | null }>>;
  /**
   * Takes one run from whichever node holds it, live or not (epoch up by one): a cancel that
   * reached a node not running the run (docs/SCALE-OUT.md, "Cancel on another node"). The
   * holder's next commit for it is refused by the fence. Undefined when the run has no
   * ownership (ended, or not a run).
   */
  take(nodeId: string, runId: string): Promise<HeldRun | undefined>;
  /** The runs this node holds now (a restarted node that kept its id). */
  held(nodeId: string): Promise<HeldRun[]>;
  /**
   * Inside a transaction: the run ids of `runs` this node no longer holds at the given epoch
   * (taken over, or ended and released). The rows it still holds stay locked until the
   * transaction ends, so no take-over slips between this check and the commit.
   */
  fence(nodeId: string, runs: ReadonlyArray<{ runId: string; epoch: number }>): Promise<string[]>;
  /** Forgets the ownership of ended runs this node holds. */
  release(nodeId: string, runIds: readonly string[]): Promise<void>;
  /** A node leaving (drained): its runs are held by no node (epoch up by one), its lease row deleted. */
  leave(nodeId: string): Promise<number>;
}

/** A group commit refused: the node no longer holds these runs (taken over after its lease ran out). */
export class LeaseLost extends Error {
  constructor(readonly runIds: readonly string[]) {
    super(`this node no longer holds ${runIds.length} run(s) (${runIds.slice(0, 3).join(', ')}${runIds.length > 3 ? ', …' : ''}): another node took them over; nothing was written`);
    this.name = 'LeaseLost';
  }
}
