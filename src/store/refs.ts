/**
 * Artifact references and the queries of artifact garbage collection. An owned artifact
 * (`artifacts` row) stays while some `artifact_refs` row names it; see schema.ts for holders.
 * Invariant kept by these queries: a reference exists only while its ownership row does (a
 * reference is added only for an owned hash; an ownership row is deleted only when no
 * reference names it, re-checked by the DELETE itself).
 *
 * @example
 * store.tx(() => { store.artifacts.insert(row); store.refs.add(row.tenant, row.hash, runId); });
 * store.refs.addOwned('demo', runId, ['ab…']); // only the hashes demo owns
 */
import type Database from 'better-sqlite3';
import type { Row } from './rows.js';
import type { artifacts } from './schema.js';
import { boundLimit } from './util.js';

/** An owned artifact (schema `artifacts`) and whether any record still references it. */
export type OwnedRow = Pick<Row<typeof artifacts>, 'tenant' | 'hash' | 'size' | 'createdMs'> & { referenced: 0 | 1 };

export class ArtifactRefQueries {
  private readonly addStmt;
  private readonly dropHoldersStmt;
  private readonly ownedPageStmt;
  private readonly ownedPageOfTenantStmt;
  private readonly deleteUnreferencedStmt;
  private readonly ownedAnywhereStmt;
  private readonly ownedHashesStmt;
  private readonly holdersOfStmt;

  constructor(db: Database.Database) {
    this.addStmt = db.prepare(
      `insert or ignore into artifact_refs (tenant, hash, holder)
       select tenant, hash, ? from artifacts where tenant=? and hash=?`,
    );
    this.dropHoldersStmt = db.prepare(`delete from artifact_refs where holder in (select value from json_each(?))`);
    const owned = `select tenant, hash, size, created_ms as createdMs,
        exists (select 1 from artifact_refs r where r.tenant = a.tenant and r.hash = a.hash) as referenced
      from artifacts a`;
    this.ownedPageStmt = db.prepare(`${owned} where (tenant, hash) > (?, ?) order by tenant, hash ${boundLimit('?')}`);
    this.ownedPageOfTenantStmt = db.prepare(`${owned} where tenant = ? and hash > ? order by tenant, hash ${boundLimit('?')}`);
    this.deleteUnreferencedStmt = db.prepare(
      `delete from artifacts where tenant=? and hash=? and created_ms < ?
         and not exists (select 1 from artifact_refs r where r.tenant = artifacts.tenant and r.hash = artifacts.hash)`,
    );
    this.ownedAnywhereStmt = db.prepare(`select 1 from artifacts where hash=? limit 1`).pluck();
    this.ownedHashesStmt = db.prepare(`select hash, max(size) as size from artifacts group by hash order by hash`);
    this.holdersOfStmt = db.prepare(`select holder from artifact_refs where tenant=? and hash=? order by holder`).pluck();
  }

  /** Records that `holder` names the tenant's artifact `hash` (nothing when the tenant does not own it). */
  add(tenant: string, hash: string, holder: string): void {
    this.addStmt.run(holder, tenant, hash);
  }

  /** {@link add} for each hash (duplicates and hashes the tenant does not own are ignored). */
  addOwned(tenant: string, holder: string, hashes: Iterable<string>): void {
    for (const h of hashes) this.addStmt.run(holder, tenant, h);
  }

  /** Drops every reference held by these holders (pruned runs); returns how many. */
  dropHolders(holders: readonly string[]): number {
    return holders.length === 0 ? 0 : this.dropHoldersStmt.run(JSON.stringify(holders)).changes;
  }

  /** The holders naming a tenant's artifact (tests, diagnostics). */
  holdersOf(tenant: string, hash: string): string[] {
    return this.holdersOfStmt.all(tenant, hash) as string[];
  }

  /**
   * The next ownership rows after `(afterTenant, afterHash)` (all tenants, or one when
   * `tenant` is given), each with whether a reference names it.
   */
  ownedPage(after: { tenant: string; hash: string }, limit: number, tenant?: string): OwnedRow[] {
    return (tenant === undefined
      ? this.ownedPageStmt.all(after.tenant, after.hash, limit)
      : this.ownedPageOfTenantStmt.all(tenant, after.tenant === tenant ? after.hash : '', limit)) as OwnedRow[];
  }

  /**
   * Deletes a tenant's ownership row when it is older than `createdBefore` and no reference
   * names it (checked by the statement itself); returns whether it did.
   */
  deleteIfUnreferenced(tenant: string, hash: string, createdBefore: number): boolean {
    return this.deleteUnreferencedStmt.run(tenant, hash, createdBefore).changes === 1;
  }

  /** Whether any tenant owns the hash. */
  ownedByAnyone(hash: string): boolean {
    return this.ownedAnywhereStmt.get(hash) !== undefined;
  }

  /** Every owned hash once, with its size, by hash (what a backup must carry). */
  ownedHashes(): IterableIterator<{ hash: string; size: number }> {
    return this.ownedHashesStmt.iterate() as IterableIterator<{ hash: string; size: number }>;
  }
}
