/**
 * The run ledger on PostgreSQL (ports.ts RunLedgerPort) and the group commit's writes of runs,
 * steps and attempts: one statement per kind for the whole batch (`unnest` of arrays), so a
 * batch costs a fixed number of round trips whatever its size. Same rows, same order, same
 * keyset pagination as the SQLite store (store/runs.ts).
 *
 * @example
 * const runs = new PgRuns(conn(client));
 * await runs.createRun(row, [{ stepId: 'a', topoIndex: 0 }]);
 */
import type { AttemptRow, RunListFilter, RunRow, StepRow } from '../runs.js';
import { ACTIVE_IN } from '../runs.js';
import type { RunHead, RunKeyRow, RunLedgerPort, RunUpdate } from '../ports.js';
import { attempts, runs, steps } from '../schema.js';
import type { Conn } from './conn.js';
import { pgSelectList } from './ddl.js';

const RUN_COLS = pgSelectList(runs, ['imported']);
const STEP_COLS = pgSelectList(steps);
const ATTEMPT_COLS = pgSelectList(attempts);

const INSERT_RUN = `insert into runs (run_id, tenant, dag_id, dag_version, dag_hash, run_token, trace_id, status, inputs,
  inputs_hash, outputs_hash, created_ms, started_ms, ended_ms, cancel_reason, schedule_id, scheduled_ms, created_by, cancelled_by)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`;
const INSERT_STEPS = `insert into steps (run_id, step_id, topo_index, status, attempt)
  select $1, s, i, 'pending', 0 from unnest($2::text[], $3::bigint[]) as u(s, i)`;
const UPDATE_RUNS = `update runs r set status = u.status, outputs_hash = u.oh, ended_ms = u.em, cancel_reason = u.cr, cancelled_by = u.cb
  from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[]) as u(id, status, oh, em, cr, cb)
  where r.run_id = u.id`;
const UPDATE_STEPS = `update steps s set status = u.status, attempt = u.attempt, started_ms = u.sm, ended_ms = u.em,
  inputs_hash = u.ih, outputs_hash = u.oh, outputs = u.outputs, logs_ref = u.lr, error_code = u.ec, error_message = u.emsg,
  retryable = u.retryable, next_attempt_ms = u.nam
  from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::text[],
    $10::text[], $11::text[], $12::text[], $13::bigint[], $14::bigint[])
    as u(run_id, step_id, status, attempt, sm, em, ih, oh, outputs, lr, ec, emsg, retryable, nam)
  where s.run_id = u.run_id and s.step_id = u.step_id`;
const UPSERT_ATTEMPTS = `insert into attempts (run_id, step_id, attempt, status, started_ms, ended_ms, error_code, error_message, logs_ref, outputs_hash)
  select * from unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[])
  on conflict (run_id, step_id, attempt) do update set status = excluded.status, ended_ms = excluded.ended_ms,
    error_code = excluded.error_code, error_message = excluded.error_message, logs_ref = excluded.logs_ref,
    outputs_hash = excluded.outputs_hash`;

/** Column arrays of rows, for one `unnest` statement. */
function columns<R>(rows: readonly R[], pick: ReadonlyArray<(r: R) => unknown>): unknown[][] {
  return pick.map((f) => rows.map(f));
}

export class PgRuns implements RunLedgerPort {
  constructor(private readonly c: Conn) {}

  async createRun(r: RunRow, st: ReadonlyArray<{ stepId: string; topoIndex: number }>): Promise<void> {
    await this.c.count(INSERT_RUN, [
      r.runId, r.tenant, r.dagId, r.dagVersion, r.dagHash, r.runToken, r.traceId, r.status, r.inputs,
      r.inputsHash, r.outputsHash, r.createdMs, r.startedMs, r.endedMs, r.cancelReason, r.scheduleId ?? null, r.scheduledMs ?? null,
      r.createdBy ?? null, r.cancelledBy ?? null,
    ]);
    if (st.length > 0) await this.c.count(INSERT_STEPS, [r.runId, st.map((s) => s.stepId), st.map((s) => s.topoIndex)]);
  }

  /** Writes the runs', steps' and attempts' new state (the group commit): call inside a transaction. */
  async write(rs: readonly RunUpdate[], ss: readonly StepRow[], as: readonly AttemptRow[]): Promise<void> {
    if (rs.length > 0) {
      await this.c.count(UPDATE_RUNS, columns(rs, [(r) => r.runId, (r) => r.status, (r) => r.outputsHash, (r) => r.endedMs, (r) => r.cancelReason, (r) => r.cancelledBy]));
    }
    if (ss.length > 0) {
      await this.c.count(UPDATE_STEPS, columns(ss, [
        (s) => s.runId, (s) => s.stepId, (s) => s.status, (s) => s.attempt, (s) => s.startedMs, (s) => s.endedMs, (s) => s.inputsHash,
        (s) => s.outputsHash, (s) => s.outputs, (s) => s.logsRef, (s) => s.errorCode, (s) => s.errorMessage, (s) => s.retryable, (s) => s.nextAttemptMs,
      ]));
    }
    if (as.length > 0) {
      await this.c.count(UPSERT_ATTEMPTS, columns(as, [
        (a) => a.runId, (a) => a.stepId, (a) => a.attempt, (a) => a.status, (a) => a.startedMs, (a) => a.endedMs,
        (a) => a.errorCode, (a) => a.errorMessage, (a) => a.logsRef, (a) => a.outputsHash,
      ]));
    }
  }

  async get(tenant: string, runId: string): Promise<RunRow | undefined> {
    return (await this.c.rows<RunRow>(`select ${RUN_COLS} from runs where run_id = $1 and tenant = $2`, [runId, tenant]))[0];
  }

  async head(tenant: string, runId: string): Promise<RunHead | undefined> {
    return (await this.c.rows<RunHead>('select run_id as "runId", dag_id as "dagId", schedule_id as "scheduleId" from runs where run_id = $1 and tenant = $2', [runId, tenant]))[0];
  }

  async byToken(tenant: string, runToken: string): Promise<RunRow | undefined> {
    return (await this.c.rows<RunRow>(`select ${RUN_COLS} from runs where tenant = $1 and run_token = $2 and imported = 0`, [tenant, runToken]))[0];
  }

  steps(runId: string): Promise<StepRow[]> {
    return this.c.rows<StepRow>(`select ${STEP_COLS} from steps where run_id = $1 order by topo_index, step_id`, [runId]);
  }

  attemptsOfRun(runId: string): Promise<AttemptRow[]> {
    return this.c.rows<AttemptRow>(`select ${ATTEMPT_COLS} from attempts where run_id = $1 order by step_id, attempt`, [runId]);
  }

  stepsPage(runId: string, afterIndex: number, limit: number): Promise<StepRow[]> {
    return this.c.rows<StepRow>(
      `select ${STEP_COLS} from steps where run_id = $1 and topo_index > $2 order by topo_index, step_id limit $3`,
      [runId, afterIndex, limit],
    );
  }

  attemptsOfSteps(runId: string, stepIds: readonly string[]): Promise<AttemptRow[]> {
    return this.c.rows<AttemptRow>(
      `select ${ATTEMPT_COLS} from attempts where run_id = $1 and step_id = any($2::text[]) order by step_id, attempt`,
      [runId, stepIds],
    );
  }

  active(): Promise<RunRow[]> {
    return this.c.rows<RunRow>(`select ${RUN_COLS} from runs where status in (${ACTIVE_IN}) and imported = 0 order by started_ms, run_id`);
  }

  list(f: RunListFilter & { asc?: boolean }): Promise<RunRow[]> {
    return this.page<RunRow>(RUN_COLS, f);
  }

  listKeys(f: RunListFilter): Promise<RunKeyRow[]> {
    return this.page<RunKeyRow>('run_id as "runId", started_ms as "startedMs"', f);
  }

  getMany(tenant: string, runIds: readonly string[]): Promise<RunRow[]> {
    return this.c.rows<RunRow>(`select ${RUN_COLS} from runs where tenant = $1 and run_id = any($2::text[])`, [tenant, [...runIds]]);
  }

  private page<R>(cols: string, f: RunListFilter & { asc?: boolean }): Promise<R[]> {
    const p: unknown[] = [];
    const arg = (v: unknown): string => `$${p.push(v)}`;
    const where = [`tenant = ${arg(f.tenant)}`];
    if (f.dagId !== undefined) where.push(`dag_id = ${arg(f.dagId)}`);
    if (f.scheduleId !== undefined) where.push(`schedule_id = ${arg(f.scheduleId)}`);
    if (f.status !== undefined) where.push(`status = ${arg(f.status)}`);
    if (f.fromMs !== undefined) where.push(`started_ms >= ${arg(f.fromMs)}`);
    if (f.toMs !== undefined) where.push(`started_ms < ${arg(f.toMs)}`);
    const asc = f.asc === true || f.afterAsc !== undefined;
    const pos = f.after ?? f.afterAsc;
    if (pos) {
      const s = arg(pos.startedMs);
      const id = arg(pos.runId);
      where.push(`(started_ms ${f.after ? '<' : '>'} ${s} or (started_ms = ${s} and run_id > ${id}))`);
    }
    const order = asc ? 'started_ms asc, run_id asc' : 'started_ms desc, run_id asc';
    return this.c.rows<R>(`select ${cols} from runs where ${where.join(' and ')} order by ${order} limit ${arg(f.limit)}`, p);
  }
}
