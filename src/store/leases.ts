/**
 * Run ownership by lease, on the embedded SQLite store (the LeasePort of ports.ts; the
 * PostgreSQL twin is pg/leases.ts). An embedded installation is one node — its data folder's
 * lock already fences it — so the server does not use these on SQLite; they exist so both
 * stores keep the same records and pass the same contract suite, and so a copy to PostgreSQL
 * carries ownership over. Times are SQLite's clock (`unixepoch('subsec')`).
 *
 * @example
 * const q = new LeaseQueries(db);
 * q.heartbeat('node-a', 10_000, 8);
 * q.own('demo', runId, 'node-a'); // 1
 */
import type Database from 'better-sqlite3';
import type { HeldRun, NodeRow } from './ports.js';
import { boundLimit } from './util.js';

/** The database's clock, in ms since the epoch. */
const NOW = `cast(unixepoch('subsec') * 1000 as integer)`;
const NODE_COLS = 'node_id as nodeId, started_ms as startedMs, heartbeat_ms as heartbeatMs, lease_until_ms as leaseUntilMs, capacity';

export class LeaseQueries {
  private readonly heartbeatStmt;
  private readonly nodesStmt;
  private readonly ownStmt;
  private readonly claimable;
  private readonly takeStmt;
  private readonly heldStmt;
  private readonly holdsStmt;
  private readonly releaseStmt;
  private readonly leaveStmt;
  private readonly forgetStmt;
  private readonly claimTx;

  constructor(private readonly db: Database.Database) {
    this.heartbeatStmt = db.prepare(
      `insert into nodes (node_id, started_ms, heartbeat_ms, lease_until_ms, capacity) values (?, ${NOW}, ${NOW}, ${NOW} + ?, ?)
       on conflict (node_id) do update set heartbeat_ms = excluded.heartbeat_ms, lease_until_ms = excluded.lease_until_ms, capacity = excluded.capacity
       returning ${NODE_COLS}`,
    );
    this.nodesStmt = db.prepare(`select ${NODE_COLS}, lease_until_ms > ${NOW} as live from nodes order by node_id`);
    this.ownStmt = db.prepare('insert into run_owners (run_id, tenant, node_id, epoch) values (?, ?, ?, ?)');
    this.claimable = db.prepare(
      `select o.run_id as runId, o.node_id as "from" from run_owners o left join nodes n on n.node_id = o.node_id
       where o.node_id is null or (o.node_id <> ? and (n.node_id is null or n.lease_until_ms <= ${NOW}))
       order by o.run_id ${boundLimit('?')}`,
    );
    this.takeStmt = db.prepare('update run_owners set node_id = ?, epoch = epoch + 1 where run_id = ? returning run_id as runId, tenant, epoch');
    this.heldStmt = db.prepare('select run_id as runId, tenant, epoch from run_owners where node_id = ? order by run_id');
    this.holdsStmt = db.prepare('select 1 from run_owners where run_id = ? and node_id = ? and epoch = ?').pluck();
    this.releaseStmt = db.prepare('delete from run_owners where node_id = ? and run_id = ?');
    this.leaveStmt = db.prepare('update run_owners set node_id = null, epoch = epoch + 1 where node_id = ?');
    this.forgetStmt = db.prepare('delete from nodes where node_id = ?');
    this.claimTx = db.transaction((nodeId: string, limit: number) => {
      const rows = this.claimable.all(nodeId, limit) as Array<{ runId: string; from: string | null }>;
      return rows.map((r) => ({ ...(this.takeStmt.get(nodeId, r.runId) as HeldRun), from: r.from }));
    });
  }

  heartbeat(nodeId: string, leaseMs: number, capacity: number): NodeRow {
    return this.heartbeatStmt.get(nodeId, Math.max(0, Math.trunc(leaseMs)), capacity) as NodeRow;
  }

  nodes(): Array<NodeRow & { live: boolean }> {
    return (this.nodesStmt.all() as Array<NodeRow & { live: number }>).map((n) => ({ ...n, live: n.live === 1 }));
  }

  own(tenant: string, runId: string, nodeId: string | null): number {
    const epoch = nodeId === null ? 0 : 1;
    this.ownStmt.run(runId, tenant, nodeId, epoch);
    return epoch;
  }

  claim(nodeId: string, limit: number): Array<HeldRun & { from: string | null }> {
    return this.claimTx(nodeId, limit);
  }

  take(nodeId: string, runId: string): HeldRun | undefined {
    return this.takeStmt.get(nodeId, runId) as HeldRun | undefined;
  }

  held(nodeId: string): HeldRun[] {
    return this.heldStmt.all(nodeId) as HeldRun[];
  }

  /** One writer: nothing can take a run over between this check and the commit. */
  fence(nodeId: string, runs: ReadonlyArray<{ runId: string; epoch: number }>): string[] {
    return runs.filter((r) => this.holdsStmt.get(r.runId, nodeId, r.epoch) === undefined).map((r) => r.runId);
  }

  release(nodeId: string, runIds: readonly string[]): void {
    for (const id of runIds) this.releaseStmt.run(nodeId, id);
  }

  leave(nodeId: string): number {
    return this.db.transaction(() => {
      const n = this.leaveStmt.run(nodeId).changes;
      this.forgetStmt.run(nodeId);
      return n;
    })();
  }
}
