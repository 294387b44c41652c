/**
 * Schedules on PostgreSQL (ports.ts SchedulePort): the same rows, order and compare-and-set as
 * the SQLite store (store/schedules.ts). A fire is recorded only while `next_fire_ms` and
 * `buffered_fire_ms` are what the firer read (`is not distinct from`: null equals null), so two
 * nodes deciding the same fire record it once: the second update finds nothing to change.
 *
 * @example
 * const schedules = new PgSchedules(conn(pool));
 * await schedules.recordFire('demo', 'nightly', { nextFireMs: t, bufferedFireMs: null }, state);
 */
import type { FireState, ScheduleListFilter, ScheduleRow } from '../schedules.js';
import { ACTIVE_IN } from '../runs.js';
import type { FireExpectation, SchedulePort } from '../ports.js';
import { schedules } from '../schema.js';
import type { Conn } from './conn.js';
import { pgSelectList } from './ddl.js';

const COLS = pgSelectList(schedules);

const INSERT = `insert into schedules (tenant, schedule_id, dag_id, spec, spec_hash, signature, signed_by, paused, created_ms, updated_ms,
  created_by, updated_by, next_fire_ms, buffered_fire_ms, last_fire_ms, last_fire_status, last_fire_run_id, last_fire_error, missed_count, missed_last_ms)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
  on conflict (tenant, schedule_id) do nothing`;
const REPLACE = `update schedules set dag_id = $3, spec = $4, spec_hash = $5, signature = $6, signed_by = $7, paused = $8, updated_ms = $9,
  updated_by = $10, next_fire_ms = $11, buffered_fire_ms = null where tenant = $1 and schedule_id = $2`;
const FIRE = `update schedules set next_fire_ms = $3, buffered_fire_ms = $4, last_fire_ms = $5, last_fire_status = $6, last_fire_run_id = $7,
  last_fire_error = $8, missed_count = missed_count + $9, missed_last_ms = coalesce($10, missed_last_ms)
  where tenant = $1 and schedule_id = $2 and next_fire_ms is not distinct from $11::bigint and buffered_fire_ms is not distinct from $12::bigint`;

export class PgSchedules implements SchedulePort {
  constructor(private readonly c: Conn) {}

  async get(tenant: string, scheduleId: string): Promise<ScheduleRow | undefined> {
    return (await this.c.rows<ScheduleRow>(`select ${COLS} from schedules where tenant = $1 and schedule_id = $2`, [tenant, scheduleId]))[0];
  }

  async insert(r: ScheduleRow): Promise<boolean> {
    const n = await this.c.count(INSERT, [
      r.tenant, r.scheduleId, r.dagId, r.spec, r.specHash, r.signature, r.signedBy, r.paused, r.createdMs, r.updatedMs, r.createdBy, r.updatedBy,
      r.nextFireMs, r.bufferedFireMs, r.lastFireMs, r.lastFireStatus, r.lastFireRunId, r.lastFireError, r.missedCount, r.missedLastMs,
    ]);
    return n === 1;
  }

  async replace(r: Parameters<SchedulePort['replace']>[0]): Promise<void> {
    await this.c.count(REPLACE, [r.tenant, r.scheduleId, r.dagId, r.spec, r.specHash, r.signature, r.signedBy, r.paused, r.updatedMs, r.updatedBy, r.nextFireMs]);
  }

  async setPaused(tenant: string, scheduleId: string, paused: boolean, nextFireMs: number | null, nowMs: number, by: string | null): Promise<void> {
    await this.c.count(
      'update schedules set paused = $1, next_fire_ms = $2, buffered_fire_ms = null, updated_ms = $3, updated_by = $4 where tenant = $5 and schedule_id = $6',
      [paused ? 1 : 0, nextFireMs, nowMs, by, tenant, scheduleId],
    );
  }

  async delete(tenant: string, scheduleId: string): Promise<boolean> {
    return (await this.c.count('delete from schedules where tenant = $1 and schedule_id = $2', [tenant, scheduleId])) > 0;
  }

  async recordFire(tenant: string, scheduleId: string, expect: FireExpectation, s: FireState): Promise<boolean> {
    const n = await this.c.count(FIRE, [
      tenant, scheduleId, s.nextFireMs, s.bufferedFireMs, s.lastFireMs, s.lastFireStatus, s.lastFireRunId, s.lastFireError, s.missedAdd,
      s.missedLastMs, expect.nextFireMs, expect.bufferedFireMs,
    ]);
    return n > 0;
  }

  async takeBuffered(tenant: string, scheduleId: string, fireMs: number, status: string, runId: string | null, error: string | null): Promise<boolean> {
    const n = await this.c.count(
      `update schedules set buffered_fire_ms = null, last_fire_status = $1, last_fire_run_id = $2, last_fire_error = $3
       where tenant = $4 and schedule_id = $5 and buffered_fire_ms = $6`,
      [status, runId, error, tenant, scheduleId, fireMs],
    );
    return n > 0;
  }

  armed(): Promise<ScheduleRow[]> {
    return this.c.rows<ScheduleRow>(`select ${COLS} from schedules where paused = 0 and (next_fire_ms is not null or buffered_fire_ms is not null)`);
  }

  list(f: ScheduleListFilter): Promise<ScheduleRow[]> {
    const p: unknown[] = [];
    const arg = (v: unknown): string => `$${p.push(v)}`;
    const where = [`tenant = ${arg(f.tenant)}`];
    if (f.dagId !== undefined) where.push(`dag_id = ${arg(f.dagId)}`);
    if (f.paused !== undefined) where.push(`paused = ${arg(f.paused ? 1 : 0)}`);
    if (f.after !== undefined) where.push(`schedule_id > ${arg(f.after)}`);
    const limit = Number.isFinite(f.limit) ? ` limit ${arg(f.limit)}` : '';
    return this.c.rows<ScheduleRow>(`select ${COLS} from schedules where ${where.join(' and ')} order by schedule_id${limit}`, p);
  }

  async activeRuns(tenant: string, scheduleId: string): Promise<string[]> {
    const rows = await this.c.rows<{ runId: string }>(
      `select run_id as "runId" from runs where tenant = $1 and schedule_id = $2 and status in (${ACTIVE_IN}) and imported = 0 order by run_id`,
      [tenant, scheduleId],
    );
    return rows.map((r) => r.runId);
  }
}
