/**
 * Store-backed sources for ops' cold paths: the active DAG versions (`POST /admin/warm`) and a
 * fallback queue-depth source for health and metrics when no scheduler provides one, on the
 * store's cross-tenant reads (`OpsCatalogPort`: small, run only on warm or scrape).
 *
 * @example
 * const queues = storeQueueStats(ports.ops);
 * await queues.depthByTenant(['a', 'b']); // [{ tenant: 'a', queued: 0, running: 1 }, …]
 */
import { ACTIVE_RUN_STATUSES, type OpsCatalogPort } from '../store/index.js';
import type { DagCatalog, QueueStats, TenantQueue } from './types.js';

/** Every active version of every tenant. */
export function storeDagCatalog(ops: OpsCatalogPort): DagCatalog {
  return {
    activeVersions: () => ops.activeVersions(),
  };
}

/** Every tenant with a DAG version, sorted (the runs table is not scanned). */
export async function knownTenants(ops: OpsCatalogPort): Promise<string[]> {
  return (await ops.dagTenants()).sort(byString);
}

/** Queue depth counted in the store (runs by status): the fallback before a scheduler is wired. */
export function storeQueueStats(ops: OpsCatalogPort): QueueStats {
  return {
    async depthByTenant(tenants) {
      if (tenants !== '*' && tenants.length === 0) return [];
      const rows = await ops.runCounts(ACTIVE_RUN_STATUSES, tenants);
      const names = tenants === '*' ? [] : [...new Set(tenants)].sort(byString);
      const by = new Map<string, TenantQueue>(names.map((t) => [t, { tenant: t, queued: 0, running: 0 }]));
      for (const r of rows) {
        let q = by.get(r.tenant);
        if (!q && tenants === '*') by.set(r.tenant, (q = { tenant: r.tenant, queued: 0, running: 0 }));
        if (!q) continue;
        if (r.status === 'queued') q.queued += r.n;
        else q.running += r.n;
      }
      return [...by.values()].sort((a, b) => byString(a.tenant, b.tenant));
    },
  };
}

export const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
