/**
 * When a node's next heartbeat comes (node.ts): `heartbeatMs` after this one, or just after the
 * lease of another node runs out if that is sooner. A live node renews its lease every third of
 * it, so a lease that ends before this node's next heartbeat belongs to a node that stopped
 * renewing (dead, or paused): its runs are then taken as soon as the database says its lease
 * ran out, not up to a heartbeat later (take-over within the lease of the kill, not lease + a
 * third). What `claim` may take is unchanged (runs whose node's lease ran out, by the
 * database's clock, when it runs): only when it is asked moves.
 *
 * @example
 * const ms = nextBeatDelay(await ports.leases.nodes(), node, beat.heartbeatMs);
 */
import type { NodeRow } from '../../store/index.js';
import type { SchedulerNode } from './node.js';

/** How long after another node's lease runs out (the database's clock) a node looks for its runs. */
export const LEASE_EXPIRY_MARGIN_MS = 20;

/**
 * Ms from the heartbeat at `dbNowMs` (its own time in the database: the delay is counted from it,
 * so the wake-up is never early) to the next one, given every node's lease.
 */
export function nextBeatDelay(nodes: ReadonlyArray<NodeRow & { live: boolean }>, self: Pick<SchedulerNode, 'id' | 'heartbeatMs'>, dbNowMs: number): number {
  let soonest = Infinity;
  for (const n of nodes) if (n.nodeId !== self.id && n.live) soonest = Math.min(soonest, n.leaseUntilMs);
  const untilExpiry = soonest - dbNowMs + LEASE_EXPIRY_MARGIN_MS;
  return untilExpiry < self.heartbeatMs ? Math.max(LEASE_EXPIRY_MARGIN_MS, untilExpiry) : self.heartbeatMs;
}
