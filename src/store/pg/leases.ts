/**
 * Run ownership by lease, with fencing, on PostgreSQL (the LeasePort of ../ports.ts;
 * docs/SCALE-OUT.md, "Ownership and fencing"). Lease times are the database's clock
 * (`statement_timestamp()`: one value per statement), never a node's. Concurrent claims skip
 * the rows another claim holds (`FOR UPDATE SKIP LOCKED`), so no run is taken twice — the owner's liveness is a subquery, not a
 * join, because a row locked after another claim committed is re-checked against its new version
 * and a joined row would still be the old snapshot's; a fence locks the rows it checked
 * (`FOR SHARE`) until its transaction ends, so a take-over waits for that commit.
 *
 * @example
 * const leases = new PgLeases(conn(pool));
 * await leases.heartbeat('node-a', 10_000, 8);
 */
import type { HeldRun, LeasePort, NodeRow } from '../ports.js';
import type { Conn } from './conn.js';

/** The database's clock, ms since the epoch (one value per statement): every lease time is read against it. */
export const NOW_MS = `(extract(epoch from statement_timestamp()) * 1000)::bigint`;
const NOW = NOW_MS;
const NODE_COLS = `node_id as "nodeId", started_ms as "startedMs", heartbeat_ms as "heartbeatMs", lease_until_ms as "leaseUntilMs", capacity`;
const byRunId = (a: { runId: string }, b: { runId: string }): number => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0);

export class PgLeases implements LeasePort {
  constructor(private readonly c: Conn) {}

  async heartbeat(nodeId: string, leaseMs: number, capacity: number): Promise<NodeRow> {
    const rows = await this.c.rows<NodeRow>(
      `insert into nodes (node_id, started_ms, heartbeat_ms, lease_until_ms, capacity) values ($1, ${NOW}, ${NOW}, ${NOW} + $2, $3)
       on conflict (node_id) do update set heartbeat_ms = excluded.heartbeat_ms, lease_until_ms = excluded.lease_until_ms, capacity = excluded.capacity
       returning ${NODE_COLS}`,
      [nodeId, Math.max(0, Math.trunc(leaseMs)), capacity],
    );
    return rows[0]!;
  }

  nodes(): Promise<Array<NodeRow & { live: boolean }>> {
    return this.c.rows(`select ${NODE_COLS}, lease_until_ms > ${NOW} as live from nodes order by node_id`);
  }

  async own(tenant: string, runId: string, nodeId: string | null): Promise<number> {
    const epoch = nodeId === null ? 0 : 1;
    await this.c.count('insert into run_owners (run_id, tenant, node_id, epoch) values ($1, $2, $3, $4)', [runId, tenant, nodeId, epoch]);
    return epoch;
  }

  async claim(nodeId: string, limit: number): Promise<Array<HeldRun & { from: string | null }>> {
    const rows = await this.c.rows<HeldRun & { from: string | null }>(
      `with c as (
         select o.run_id, o.node_id from run_owners o
         where o.node_id is null
            or (o.node_id <> $1 and not exists (select 1 from nodes n where n.node_id = o.node_id and n.lease_until_ms > ${NOW}))
         order by o.run_id limit $2
         for update of o skip locked
       )
       update run_owners o set node_id = $1, epoch = o.epoch + 1 from c where o.run_id = c.run_id
       returning o.run_id as "runId", o.tenant, o.epoch, c.node_id as "from"`,
      [nodeId, limit],
    );
    return rows.sort(byRunId);
  }

  /** Waits for a fenced commit in flight on the row (its `FOR SHARE` lock), then takes the run. */
  async take(nodeId: string, runId: string): Promise<HeldRun | undefined> {
    const rows = await this.c.rows<HeldRun>(
      'update run_owners set node_id = $1, epoch = epoch + 1 where run_id = $2 returning run_id as "runId", tenant, epoch',
      [nodeId, runId],
    );
    return rows[0];
  }

  held(nodeId: string): Promise<HeldRun[]> {
    return this.c.rows(`select run_id as "runId", tenant, epoch from run_owners where node_id = $1 order by run_id`, [nodeId]);
  }

  async fence(nodeId: string, runs: ReadonlyArray<{ runId: string; epoch: number }>): Promise<string[]> {
    if (runs.length === 0) return [];
    const ok = await this.c.rows<{ runId: string }>(
      `select o.run_id as "runId" from run_owners o join unnest($2::text[], $3::bigint[]) as h(run_id, epoch)
         on o.run_id = h.run_id and o.epoch = h.epoch
       where o.node_id = $1 order by o.run_id for share of o`,
      [nodeId, runs.map((r) => r.runId), runs.map((r) => r.epoch)],
    );
    const kept = new Set(ok.map((r) => r.runId));
    return runs.filter((r) => !kept.has(r.runId)).map((r) => r.runId);
  }

  async release(nodeId: string, runIds: readonly string[]): Promise<void> {
    if (runIds.length > 0) await this.c.count('delete from run_owners where node_id = $1 and run_id = any($2::text[])', [nodeId, runIds]);
  }

  async leave(nodeId: string): Promise<number> {
    const rows = await this.c.rows<{ n: number }>(
      `with r as (update run_owners set node_id = null, epoch = epoch + 1 where node_id = $1 returning 1),
            d as (delete from nodes where node_id = $1)
       select count(*)::bigint as n from r`,
      [nodeId],
    );
    return rows[0]?.n ?? 0;
  }
}
