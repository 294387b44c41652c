/**
 * The schema's tables for an installation of several nodes on PostgreSQL (docs/SCALE-OUT.md):
 * node leases, run ownership, and the values every node shares. Part of the one schema
 * definition (`schema.ts` re-exports them; both stores create them).
 */
import { sqliteTable, text, integer, index } from 'drizzle-orm/sqlite-core';

/**
 * The nodes of an installation on PostgreSQL (docs/SCALE-OUT.md, "Several nodes"): each node
 * renews its row's lease on a heartbeat; a node whose lease ran out is dead, and live nodes take
 * over its runs. Lease times are the database's clock, so the nodes' clocks need not agree. An
 * embedded SQLite installation is one node (the data folder's lock is its lease).
 */
export const nodes = sqliteTable('nodes', {
  nodeId: text('node_id').primaryKey(),
  startedMs: integer('started_ms').notNull(),
  heartbeatMs: integer('heartbeat_ms').notNull(),
  leaseUntilMs: integer('lease_until_ms').notNull(),
  /** Free step slots at the last heartbeat. */
  capacity: integer('capacity').notNull().default(0),
});

/**
 * Who runs each run not yet ended (docs/SCALE-OUT.md, "Ownership and fencing"): the node, or
 * null while no node has taken it, and an epoch that every change of owner increments. A node
 * commits a run's changes only while the row still names it at the epoch it took the run with
 * (fencing): a node that was paused and lost the run can never commit for it again. The row is
 * deleted when the run ends.
 */
export const runOwners = sqliteTable(
  'run_owners',
  {
    runId: text('run_id').primaryKey(),
    tenant: text('tenant').notNull(),
    nodeId: text('node_id'),
    epoch: integer('epoch').notNull().default(0),
  },
  (t) => [index('run_owners_node').on(t.nodeId, t.runId)],
);

/**
 * Values the whole installation shares, created once by whichever node needs one first (the
 * page-token key of an installation on PostgreSQL, so that a `page_token` one node wrote is
 * valid on every node behind a load balancer).
 */
export const settings = sqliteTable('settings', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
});
