import type Database from 'better-sqlite3';
import { StatementCache, boundLimit, defined } from './util.js';
import { selectList, type Row } from './rows.js';
import { schedules } from './schema.js';

/** A stored schedule (schema `schedules`): `spec` is the canonical JSON of the document as last created or replaced, defaults filled in. */
export type ScheduleRow = Row<typeof schedules>;

/** What the firing scheduler records for a decided fire (see {@link ScheduleQueries.recordFire}). */
export interface FireState {
  nextFireMs: number | null;
  bufferedFireMs: number | null;
  lastFireMs: number | null;
  lastFireStatus: string | null;
  lastFireRunId: string | null;
  lastFireError: string | null;
  /** Added to `missed_count`. */
  missedAdd: number;
  missedLastMs: number | null;
}

export interface ScheduleListFilter {
  tenant: string;
  dagId?: string;
  paused?: boolean;
  /** Keyset: rows strictly after this scheduleId. */
  after?: string;
  limit: number;
}

const COLS = selectList(schedules);

/**
 * Schedules. The firing scheduler changes a schedule's fire state only with a compare-and-set
 * on `next_fire_ms` (the fire it decided), so a fire is decided once even when two processes
 * share the database.
 *
 * @example
 * store.tx(() => store.schedules.insert(row));
 * store.schedules.list({ tenant: 'demo', limit: 51 });
 */
export class ScheduleQueries {
  private readonly stmts: StatementCache;
  private readonly getStmt;
  private readonly insertStmt;
  private readonly replaceStmt;
  private readonly pauseStmt;
  private readonly deleteStmt;
  private readonly fireStmt;
  private readonly bufferStmt;
  private readonly armedStmt;

  constructor(db: Database.Database) {
    this.stmts = new StatementCache(db);
    this.getStmt = db.prepare(`select ${COLS} from schedules where tenant=? and schedule_id=?`);
    this.insertStmt = db.prepare(
      `insert into schedules (tenant, schedule_id, dag_id, spec, spec_hash, signature, signed_by, paused, created_ms, updated_ms, created_by, updated_by,
         next_fire_ms, buffered_fire_ms, last_fire_ms, last_fire_status, last_fire_run_id, last_fire_error, missed_count, missed_last_ms)
       values (@tenant, @scheduleId, @dagId, @spec, @specHash, @signature, @signedBy, @paused, @createdMs, @updatedMs, @createdBy, @updatedBy,
         @nextFireMs, @bufferedFireMs, @lastFireMs, @lastFireStatus, @lastFireRunId, @lastFireError, @missedCount, @missedLastMs)`,
    );
    this.replaceStmt = db.prepare(
      `update schedules set dag_id=@dagId, spec=@spec, spec_hash=@specHash, signature=@signature, signed_by=@signedBy,
         paused=@paused, updated_ms=@updatedMs, updated_by=@updatedBy, next_fire_ms=@nextFireMs, buffered_fire_ms=null
       where tenant=@tenant and schedule_id=@scheduleId`,
    );
    this.pauseStmt = db.prepare(
      `update schedules set paused=?, next_fire_ms=?, buffered_fire_ms=null, updated_ms=?, updated_by=? where tenant=? and schedule_id=?`,
    );
    this.deleteStmt = db.prepare(`delete from schedules where tenant=? and schedule_id=?`);
    this.fireStmt = db.prepare(
      `update schedules set next_fire_ms=@nextFireMs, buffered_fire_ms=@bufferedFireMs, last_fire_ms=@lastFireMs,
         last_fire_status=@lastFireStatus, last_fire_run_id=@lastFireRunId, last_fire_error=@lastFireError,
         missed_count=missed_count + @missedAdd, missed_last_ms=coalesce(@missedLastMs, missed_last_ms)
       where tenant=@tenant and schedule_id=@scheduleId and next_fire_ms is @expectNext and buffered_fire_ms is @expectBuffered`,
    );
    this.bufferStmt = db.prepare(
      `update schedules set buffered_fire_ms=null, last_fire_status=?, last_fire_run_id=?, last_fire_error=?
       where tenant=? and schedule_id=? and buffered_fire_ms=?`,
    );
    this.armedStmt = db.prepare(
      `select ${COLS} from schedules where paused=0 and (next_fire_ms is not null or buffered_fire_ms is not null)`,
    );
  }

  get(tenant: string, scheduleId: string): ScheduleRow | undefined {
    return this.getStmt.get(tenant, scheduleId) as ScheduleRow | undefined;
  }

  insert(r: ScheduleRow): void {
    this.insertStmt.run(r);
  }

  /** Replaces the document (PUT, a newer preloaded file); the fire history stays. */
  replace(r: Pick<ScheduleRow, 'tenant' | 'scheduleId' | 'dagId' | 'spec' | 'specHash' | 'signature' | 'signedBy' | 'paused' | 'updatedMs' | 'updatedBy' | 'nextFireMs'>): void {
    this.replaceStmt.run(r);
  }

  /** Pauses (nextFireMs null) or resumes (nextFireMs the next fire); drops a buffered fire. */
  setPaused(tenant: string, scheduleId: string, paused: boolean, nextFireMs: number | null, nowMs: number, by: string | null): void {
    this.pauseStmt.run(paused ? 1 : 0, nextFireMs, nowMs, by, tenant, scheduleId);
  }

  delete(tenant: string, scheduleId: string): boolean {
    return this.deleteStmt.run(tenant, scheduleId).changes > 0;
  }

  /**
   * Records a decided fire, if the schedule still expects it (`next_fire_ms` and
   * `buffered_fire_ms` unchanged since they were read): false when another writer (a replace,
   * a pause, another node) got there first, and the caller must write nothing else.
   */
  recordFire(tenant: string, scheduleId: string, expect: { nextFireMs: number | null; bufferedFireMs: number | null }, s: FireState): boolean {
    const r = this.fireStmt.run({ ...s, tenant, scheduleId, expectNext: expect.nextFireMs, expectBuffered: expect.bufferedFireMs });
    return r.changes > 0;
  }

  /** Clears the buffered fire `fireMs` (it started, or could not): false if it was not buffered any more. */
  takeBuffered(tenant: string, scheduleId: string, fireMs: number, status: string, runId: string | null, error: string | null): boolean {
    return this.bufferStmt.run(status, runId, error, tenant, scheduleId, fireMs).changes > 0;
  }

  /** Every schedule with a fire to wait for (start-up fills the timer heap from it). */
  armed(): ScheduleRow[] {
    return this.armedStmt.all() as ScheduleRow[];
  }

  /** One page, `scheduleId ASC` (or every schedule of a tenant with `limit` Infinity for exports). */
  list(f: ScheduleListFilter): ScheduleRow[] {
    const where = ['tenant = @tenant'];
    if (f.dagId !== undefined) where.push('dag_id = @dagId');
    if (f.paused !== undefined) where.push('paused = @paused');
    if (f.after !== undefined) where.push('schedule_id > @after');
    const limit = Number.isFinite(f.limit) ? ` ${boundLimit('@limit')}` : '';
    const stmt = this.stmts.get(`select ${COLS} from schedules where ${where.join(' and ')} order by schedule_id${limit}`);
    return stmt.all(defined({
      tenant: f.tenant,
      dagId: f.dagId,
      paused: f.paused === undefined ? undefined : f.paused ? 1 : 0,
      after: f.after,
      limit: Number.isFinite(f.limit) ? f.limit : undefined,
    })) as ScheduleRow[];
  }
}
