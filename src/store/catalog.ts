/**
 * The small cross-tenant reads of ops' cold paths (`POST /admin/warm`, health and metrics when no
 * scheduler provides queue depth): every active DAG version, every tenant with a DAG, and the
 * count of runs in flight by tenant and status. drizzle query builder, no SQL text; each runs
 * only on warm or scrape.
 *
 * @example
 * store.catalog.activeVersions(); // [{ hash: 'ab…', definition: '{…}' }, …]
 * store.catalog.runCounts(['queued', 'running'], ['a']); // [{ tenant: 'a', status: 'queued', n: 2 }]
 */
import { and, count, eq, inArray } from 'drizzle-orm';
import type { Drizzle } from './db.js';
import { dagVersions, runs } from './schema.js';

export class CatalogQueries {
  constructor(private readonly orm: Drizzle) {}

  /** Every active version of every tenant (its hash and definition). */
  activeVersions(): Array<{ hash: string; definition: string }> {
    return this.orm
      .select({ hash: dagVersions.hash, definition: dagVersions.definition })
      .from(dagVersions)
      .where(eq(dagVersions.active, 1))
      .all();
  }

  /** Every tenant with a DAG version, unordered (the runs table is not scanned: it can be large). */
  dagTenants(): string[] {
    return this.orm.selectDistinct({ tenant: dagVersions.tenant }).from(dagVersions).all().map((r) => r.tenant);
  }

  /** Runs with one of `statuses`, counted by tenant and status; `'*'`: every tenant. */
  runCounts(statuses: readonly string[], tenants: '*' | readonly string[]): Array<{ tenant: string; status: string; n: number }> {
    return this.orm
      .select({ tenant: runs.tenant, status: runs.status, n: count() })
      .from(runs)
      .where(and(inArray(runs.status, [...statuses]), tenants === '*' ? undefined : inArray(runs.tenant, [...tenants])))
      .groupBy(runs.tenant, runs.status)
      .all();
  }
}
