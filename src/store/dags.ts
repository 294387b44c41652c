import type Database from 'better-sqlite3';
import { StatementCache, boundLimit, defined } from './util.js';
import { selectList, type Row } from './rows.js';
import { dagVersions } from './schema.js';

/**
 * A DAG version as stored (schema `dag_versions`): `pluginPins` is the canonical JSON of the
 * plugin pins (dags/pins.ts), null for a version stored before pinning; who published or
 * disabled it may be left out (null: not recorded).
 */
export type DagVersionRow = Row<typeof dagVersions, never, 'createdBy' | 'disabledBy'>;

export interface DagListFilter {
  tenant: string;
  dagId?: string;
  active?: boolean;
  /** Keyset: rows strictly after (dagId ASC, versionKey DESC). */
  after?: { dagId: string; versionKey: string };
  limit: number;
}

const COLS = selectList(dagVersions);

/** DAG versions. Versions are immutable; only `active`/`disabled_ms` ever change. */
export class DagQueries {
  private readonly stmts: StatementCache;
  private readonly getStmt;
  private readonly insertStmt;
  private readonly disableStmt;
  private readonly activeStmt;
  private readonly countStmt;

  constructor(db: Database.Database) {
    this.stmts = new StatementCache(db);
    this.getStmt = db.prepare(`select ${COLS} from dag_versions where tenant=? and dag_id=? and version=?`);
    this.insertStmt = db.prepare(
      `insert into dag_versions (tenant, dag_id, version, version_key, hash, definition, signature, signed_by, plugin_pins, active, created_ms, created_by)
       values (@tenant, @dagId, @version, @versionKey, @hash, @definition, @signature, @signedBy, @pluginPins, 1, @createdMs, @createdBy)`,
    );
    this.disableStmt = db.prepare(
      `update dag_versions set active=0, disabled_ms=?, disabled_by=? where tenant=? and dag_id=? and version=? and active=1`,
    );
    this.activeStmt = db.prepare(
      `select ${COLS} from dag_versions where tenant=? and dag_id=? and active=1 order by version_key desc limit 1`,
    );
    this.countStmt = db.prepare(`select count(*) from dag_versions`).pluck();
  }

  get(tenant: string, dagId: string, version: string): DagVersionRow | undefined {
    return this.getStmt.get(tenant, dagId, version) as DagVersionRow | undefined;
  }

  insert(row: Omit<DagVersionRow, 'active' | 'disabledMs' | 'disabledBy'>): void {
    this.insertStmt.run({ ...row, createdBy: row.createdBy ?? null });
  }

  /** Returns true when the version was active and is now disabled. */
  disable(tenant: string, dagId: string, version: string, nowMs: number, by: string | null = null): boolean {
    return this.disableStmt.run(nowMs, by, tenant, dagId, version).changes > 0;
  }

  /** Highest active version by SemVer precedence. */
  latestActive(tenant: string, dagId: string): DagVersionRow | undefined {
    return this.activeStmt.get(tenant, dagId) as DagVersionRow | undefined;
  }

  /** Versions stored without plugin pins (by an older program), oldest first. */
  unpinned(): DagVersionRow[] {
    return this.stmts.get(`select ${COLS} from dag_versions where plugin_pins is null order by created_ms, tenant, dag_id, version_key`).all() as DagVersionRow[];
  }

  /** Sets the pins of a version that has none (pins never change once set). */
  setPins(tenant: string, dagId: string, version: string, pins: string): boolean {
    return this.stmts.get(`update dag_versions set plugin_pins=? where tenant=? and dag_id=? and version=? and plugin_pins is null`).run(pins, tenant, dagId, version).changes > 0;
  }

  count(): number {
    return this.countStmt.get() as number;
  }

  /** One page in (dagId ASC, version DESC) order. */
  list(f: DagListFilter): DagVersionRow[] {
    const where = ['tenant = @tenant'];
    if (f.dagId !== undefined) where.push('dag_id = @dagId');
    if (f.active !== undefined) where.push('active = @active');
    if (f.after) where.push('(dag_id > @afterDag or (dag_id = @afterDag and version_key < @afterKey))');
    const stmt = this.stmts.get(
      `select ${COLS} from dag_versions where ${where.join(' and ')}
        order by dag_id asc, version_key desc ${boundLimit('@limit')}`,
    );
    return stmt.all(defined({
      tenant: f.tenant,
      dagId: f.dagId,
      active: f.active === undefined ? undefined : f.active ? 1 : 0,
      afterDag: f.after?.dagId,
      afterKey: f.after?.versionKey,
      limit: f.limit,
    })) as DagVersionRow[];
  }

  /**
   * One page of a tenant's versions in export order (oldest first: createdUtc, dagId, version
   * precedence), after a keyset position. Exports read in pages so no statement stays open
   * across event-loop turns (the one connection is also the scheduler's writer).
   */
  exportPage(
    tenant: string,
    filter: { dagId?: string; active?: boolean },
    after: { createdMs: number; dagId: string; versionKey: string } | undefined,
    limit: number,
  ): DagVersionRow[] {
    const where = ['tenant = @tenant'];
    if (filter.dagId !== undefined) where.push('dag_id = @dagId');
    if (filter.active !== undefined) where.push('active = @active');
    if (after) where.push('(created_ms, dag_id, version_key) > (@afterMs, @afterDag, @afterKey)');
    const stmt = this.stmts.get(
      `select ${COLS} from dag_versions where ${where.join(' and ')}
        order by created_ms asc, dag_id asc, version_key asc ${boundLimit('@limit')}`,
    );
    return stmt.all(defined({
      tenant,
      dagId: filter.dagId,
      active: filter.active === undefined ? undefined : filter.active ? 1 : 0,
      afterMs: after?.createdMs,
      afterDag: after?.dagId,
      afterKey: after?.versionKey,
      limit,
    })) as DagVersionRow[];
  }

}
