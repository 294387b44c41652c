/**
 * Artifact ownership: which tenant may read which content hash. The bytes live in the
 * content-addressed store (`src/artifacts`); a tenant sees an artifact only through a row here,
 * so two tenants storing the same bytes each own it, and neither learns about the other.
 *
 * @example
 * store.artifacts.insert({ tenant: 'demo', hash, size: 5, mediaType: 'text/plain', createdMs: Date.now() });
 * store.artifacts.owns('demo', hash); // { size: 5, mediaType: 'text/plain' }
 */
import type Database from 'better-sqlite3';
import type { Row } from './rows.js';
import type { artifacts } from './schema.js';

/** A tenant's ownership of an artifact (schema `artifacts`). */
export type ArtifactRow = Row<typeof artifacts>;

export class ArtifactQueries {
  private readonly insertStmt;
  private readonly ownsStmt;

  constructor(db: Database.Database) {
    // The first owner's media type is kept: the same bytes stay the same resource.
    this.insertStmt = db.prepare(
      `insert into artifacts (tenant, hash, size, media_type, created_ms) values (?, ?, ?, ?, ?)
       on conflict (tenant, hash) do nothing`,
    );
    this.ownsStmt = db.prepare(`select size, media_type as mediaType from artifacts where tenant=? and hash=?`);
  }

  /** Records that `tenant` owns `hash` (idempotent). */
  insert(r: ArtifactRow): void {
    this.insertStmt.run(r.tenant, r.hash, r.size, r.mediaType, r.createdMs);
  }

  /** The tenant's record of the artifact, or undefined when it does not own it. */
  owns(tenant: string, hash: string): { size: number; mediaType: string } | undefined {
    return this.ownsStmt.get(tenant, hash) as { size: number; mediaType: string } | undefined;
  }
}
