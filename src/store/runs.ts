/**
 * Runs, their steps and attempts. Every query is prepared once; the hot paths (step and
 * attempt writes of the scheduler's group commit) bind positional parameters, never objects.
 *
 * Times: `started_ms` of a run is the instant it was ACCEPTED (`POST /runs` answered), like
 * Temporal's StartTime: immutable, so keyset pagination on it is stable. `created_ms` is the
 * same instant.
 */
import type Database from 'better-sqlite3';
import { StatementCache, boundLimit, defined } from './util.js';
import type { RunHead, RunKeyRow } from './ports.js';
import { MultiRowInsert } from './multi-insert.js';
import { selectList, type Row } from './rows.js';
import { attempts, runs, steps } from './schema.js';
import { ACTIVE_IN, type RunListFilter } from './run-kinds.js';

export { ACTIVE_IN, ACTIVE_RUN_STATUSES, ENDED_IN, ENDED_RUN_STATUSES, type RunListFilter } from './run-kinds.js';

/**
 * A run as stored (schema `runs`, without the `imported` flag). `inputs` is the canonical JSON of
 * the inputs as sent (`{}` when none); who started and cancelled it (a token's `sub`,
 * `schedule:<id>`) and the schedule and fire time that started it may be left out (null).
 */
export type RunRow = Row<typeof runs, 'imported', 'createdBy' | 'cancelledBy' | 'scheduleId' | 'scheduledMs'>;

/** A step of a run (schema `steps`): `outputs` is canonical JSON; `retryable` 1, 0 or null (no failure). */
export type StepRow = Row<typeof steps>;

/** One attempt of a step (schema `attempts`). */
export type AttemptRow = Row<typeof attempts>;

const RUN_COLS = selectList(runs, ['imported']);
const STEP_COLS = selectList(steps);
const ATTEMPT_COLS = selectList(attempts);

/** An attempt that exists already: its outcome columns are updated. */
const ATTEMPT_OUTCOME = `on conflict (run_id, step_id, attempt) do update set status=excluded.status, ended_ms=excluded.ended_ms,
  error_code=excluded.error_code, error_message=excluded.error_message, logs_ref=excluded.logs_ref, outputs_hash=excluded.outputs_hash`;

function putAttempt(p: unknown[], at: number, a: AttemptRow): void {
  p[at] = a.runId;
  p[at + 1] = a.stepId;
  p[at + 2] = a.attempt;
  p[at + 3] = a.status;
  p[at + 4] = a.startedMs;
  p[at + 5] = a.endedMs;
  p[at + 6] = a.errorCode;
  p[at + 7] = a.errorMessage;
  p[at + 8] = a.logsRef;
  p[at + 9] = a.outputsHash;
}

/**
 * @example
 * store.tx(() => { store.runs.insertRun(row); store.runs.insertSteps(row.runId, steps); });
 * store.runs.getForTenant('demo', runId);
 */
export class RunQueries {
  private readonly stmts: StatementCache;
  private readonly insertRunStmt;
  private readonly insertImportedStmt;
  private readonly updateRunStmt;
  private readonly updateStepStmt;
  private readonly upsertAttempts;
  private readonly stepRows;
  private readonly getStmt;
  private readonly byTokenStmt;
  private readonly stepsStmt;
  private readonly stepsPageStmt;
  private readonly stepStmt;
  private readonly attemptsOfRunStmt;
  private readonly attemptsOfStepsStmt;
  private readonly getManyStmt;
  private readonly attemptsOfStepStmt;
  private readonly attemptStmt;
  private readonly activeStmt;
  private readonly activeOfScheduleStmt;

  constructor(db: Database.Database) {
    this.stmts = new StatementCache(db);
    this.insertRunStmt = db.prepare(
      `insert into runs (run_id, tenant, dag_id, dag_version, dag_hash, run_token, trace_id, status, inputs,
         inputs_hash, outputs_hash, created_ms, started_ms, ended_ms, cancel_reason, schedule_id, scheduled_ms, created_by, cancelled_by)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertImportedStmt = db.prepare(
      `insert into runs (run_id, tenant, dag_id, dag_version, dag_hash, run_token, trace_id, status, inputs,
         inputs_hash, outputs_hash, created_ms, started_ms, ended_ms, cancel_reason, schedule_id, scheduled_ms, created_by, cancelled_by, imported)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
    );
    this.updateRunStmt = db.prepare(
      `update runs set status=?, outputs_hash=?, ended_ms=?, cancel_reason=?, cancelled_by=? where run_id=?`,
    );
    this.updateStepStmt = db.prepare(
      `update steps set status=?, attempt=?, started_ms=?, ended_ms=?, inputs_hash=?, outputs_hash=?, outputs=?,
         logs_ref=?, error_code=?, error_message=?, retryable=?, next_attempt_ms=? where run_id=? and step_id=?`,
    );
    this.stepRows = new MultiRowInsert(db, 'insert into steps (run_id, step_id, topo_index, status, attempt) values', "(?, ?, ?, 'pending', 0)", 3);
    this.upsertAttempts = new MultiRowInsert(
      db,
      'insert into attempts (run_id, step_id, attempt, status, started_ms, ended_ms, error_code, error_message, logs_ref, outputs_hash) values',
      '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      10,
      ATTEMPT_OUTCOME,
    );
    this.getStmt = db.prepare(`select ${RUN_COLS} from runs where run_id=? and tenant=?`);
    this.byTokenStmt = db.prepare(`select ${RUN_COLS} from runs where tenant=? and run_token=? and imported = 0`);
    this.stepsStmt = db.prepare(`select ${STEP_COLS} from steps where run_id=? order by topo_index, step_id`);
    this.stepsPageStmt = db.prepare(
      `select ${STEP_COLS} from steps where run_id=? and topo_index > ? order by topo_index, step_id ${boundLimit('?')}`,
    );
    this.stepStmt = db.prepare(`select ${STEP_COLS} from steps where run_id=? and step_id=?`);
    // `+tenant`: by primary key; the planner would otherwise walk a tenant index (1M entries).
    this.getManyStmt = db.prepare(`select ${RUN_COLS} from runs where +tenant=? and run_id in (select value from json_each(?))`);
    this.attemptsOfRunStmt = db.prepare(`select ${ATTEMPT_COLS} from attempts where run_id=? order by step_id, attempt`);
    this.attemptsOfStepsStmt = db.prepare(`select ${ATTEMPT_COLS} from attempts where run_id=? and step_id in (select value from json_each(?)) order by step_id, attempt`);
    this.attemptsOfStepStmt = db.prepare(
      `select ${ATTEMPT_COLS} from attempts where run_id=? and step_id=? order by attempt`,
    );
    this.attemptStmt = db.prepare(`select ${ATTEMPT_COLS} from attempts where run_id=? and step_id=? and attempt=?`);
    this.activeStmt = db.prepare(
      `select ${RUN_COLS} from runs where status in (${ACTIVE_IN})
        and imported = 0 order by started_ms, run_id`,
    );
    // Matches the partial index runs_schedule_active.
    this.activeOfScheduleStmt = db.prepare(
      `select run_id as runId, status from runs where tenant = ? and schedule_id = ? and schedule_id is not null
        and status in (${ACTIVE_IN}) and imported = 0 order by run_id`,
    );
  }

  insertRun(r: RunRow): void {
    this.insertRunStmt.run(
      r.runId, r.tenant, r.dagId, r.dagVersion, r.dagHash, r.runToken, r.traceId, r.status, r.inputs,
      r.inputsHash, r.outputsHash, r.createdMs, r.startedMs, r.endedMs, r.cancelReason, r.scheduleId ?? null, r.scheduledMs ?? null,
      r.createdBy ?? null, r.cancelledBy ?? null,
    );
  }

  /**
   * Inserts a run imported from another installation's export, with its steps and attempts as
   * they were. Imported runs are read-only: recovery and the scheduler never pick them up, and
   * their runToken is outside the namespace {@link byToken} answers (index `runs_token` covers
   * only `imported = 0`).
   */
  insertImported(r: RunRow, steps: readonly StepRow[], attempts: readonly AttemptRow[]): void {
    this.insertImportedStmt.run(
      r.runId, r.tenant, r.dagId, r.dagVersion, r.dagHash, r.runToken, r.traceId, r.status, r.inputs,
      r.inputsHash, r.outputsHash, r.createdMs, r.startedMs, r.endedMs, r.cancelReason, r.scheduleId ?? null, r.scheduledMs ?? null,
      r.createdBy ?? null, r.cancelledBy ?? null,
    );
    this.insertSteps(r.runId, steps);
    this.writeSteps(steps);
    this.writeAttempts(attempts);
  }

  /** A run's step rows, each in status `pending`, attempt 0 (multi-row statements). */
  insertSteps(runId: string, steps: ReadonlyArray<{ stepId: string; topoIndex: number }>): void {
    this.stepRows.run(steps, (p, at, st) => {
      p[at] = runId;
      p[at + 1] = st.stepId;
      p[at + 2] = st.topoIndex;
    });
  }

  updateRun(runId: string, status: string, outputsHash: string | null, endedMs: number | null, cancelReason: string | null, cancelledBy: string | null = null): void {
    this.updateRunStmt.run(status, outputsHash, endedMs, cancelReason, cancelledBy, runId);
  }

  /** Writes every mutable column of a step (the scheduler writes a step's whole state). */
  updateStep(s: StepRow): void {
    this.updateStepStmt.run(
      s.status, s.attempt, s.startedMs, s.endedMs, s.inputsHash, s.outputsHash, s.outputs, s.logsRef,
      s.errorCode, s.errorMessage, s.retryable, s.nextAttemptMs, s.runId, s.stepId,
    );
  }

  /**
   * Writes many steps' whole state. (A multi-row upsert measured no faster than one prepared
   * UPDATE per row here, so it is the plain loop.)
   */
  writeSteps(rows: readonly StepRow[]): void {
    for (const r of rows) this.updateStep(r);
  }

  /** Inserts attempts, or updates the outcome columns of those that exist (multi-row statements). */
  writeAttempts(rows: readonly AttemptRow[]): void {
    this.upsertAttempts.run(rows, putAttempt);
  }

  /** A run of this tenant; another tenant's run is indistinguishable from a missing one. */
  getForTenant(tenant: string, runId: string): RunRow | undefined {
    return this.getStmt.get(runId, tenant) as RunRow | undefined;
  }

  /** {@link getForTenant} narrowed to the run's ids (`RunLedgerPort.head`). */
  headForTenant(tenant: string, runId: string): RunHead | undefined {
    return this.stmts.get('select run_id as runId, dag_id as dagId, schedule_id as scheduleId from runs where run_id=? and tenant=?').get(runId, tenant) as RunHead | undefined;
  }

  /** The run started HERE with this runToken (imported runs never answer: see insertImported). */
  byToken(tenant: string, runToken: string): RunRow | undefined {
    return this.byTokenStmt.get(tenant, runToken) as RunRow | undefined;
  }

  /** Steps in topological order (ties by step id: `topo_index` already encodes them). */
  steps(runId: string): StepRow[] {
    return this.stepsStmt.all(runId) as StepRow[];
  }

  /** Up to `limit` steps after position `afterIndex` (-1 for the first page). */
  stepsPage(runId: string, afterIndex: number, limit: number): StepRow[] {
    return this.stepsPageStmt.all(runId, afterIndex, limit) as StepRow[];
  }

  step(runId: string, stepId: string): StepRow | undefined {
    return this.stepStmt.get(runId, stepId) as StepRow | undefined;
  }

  /** Every attempt of a run, by step id then attempt. */
  attemptsOfRun(runId: string): AttemptRow[] {
    return this.attemptsOfRunStmt.all(runId) as AttemptRow[];
  }

  /** The attempts of these steps of a run, by step id then attempt. */
  attemptsOfSteps(runId: string, stepIds: readonly string[]): AttemptRow[] {
    return this.attemptsOfStepsStmt.all(runId, JSON.stringify(stepIds)) as AttemptRow[];
  }

  attemptsOfStep(runId: string, stepId: string): AttemptRow[] {
    return this.attemptsOfStepStmt.all(runId, stepId) as AttemptRow[];
  }

  attempt(runId: string, stepId: string, attempt: number): AttemptRow | undefined {
    return this.attemptStmt.get(runId, stepId, attempt) as AttemptRow | undefined;
  }

  /** Runs not yet ended, oldest first (recovery). */
  active(): RunRow[] {
    return this.activeStmt.all() as RunRow[];
  }

  /** A schedule's runs not yet ended (its overlap policy asks at every fire). */
  activeOfSchedule(tenant: string, scheduleId: string): Array<{ runId: string; status: string }> {
    return this.activeOfScheduleStmt.all(tenant, scheduleId) as Array<{ runId: string; status: string }>;
  }

  /** A page of a tenant's runs: `startedMs DESC, runId ASC` (`after`), or export order `startedMs ASC, runId ASC` (`afterAsc`, `asc`). */
  list(f: RunListFilter & { asc?: boolean }): RunRow[] {
    return this.page(RUN_COLS, f) as RunRow[];
  }

  /** The keys of `list`'s page (the list index alone, without a status filter), read as arrays: ≈ 14 µs less a page than row objects. */
  listKeys(f: RunListFilter): RunKeyRow[] {
    return (this.page('run_id, started_ms', f, true) as Array<[string, number]>).map(([runId, startedMs]) => ({ runId, startedMs }));
  }

  /** These runs of this tenant, in no order. */
  getMany(tenant: string, runIds: readonly string[]): RunRow[] {
    return this.getManyStmt.all(tenant, JSON.stringify(runIds)) as RunRow[];
  }

  private page(cols: string, f: RunListFilter & { asc?: boolean }, raw = false): unknown[] {
    const where = ['tenant = @tenant'];
    if (f.dagId !== undefined) where.push('dag_id = @dagId');
    if (f.scheduleId !== undefined) where.push('schedule_id = @scheduleId');
    if (f.status !== undefined) where.push('status = @status');
    if (f.fromMs !== undefined) where.push('started_ms >= @fromMs');
    if (f.toMs !== undefined) where.push('started_ms < @toMs');
    const asc = f.asc === true || f.afterAsc !== undefined;
    if (f.after) where.push('(started_ms < @afterS or (started_ms = @afterS and run_id > @afterId))');
    if (f.afterAsc) where.push('(started_ms > @afterS or (started_ms = @afterS and run_id > @afterId))');
    const order = asc ? 'started_ms asc, run_id asc' : 'started_ms desc, run_id asc';
    const stmt = this.stmts.get(`select ${cols} from runs where ${where.join(' and ')} order by ${order} ${boundLimit('@limit')}`).raw(raw);
    const pos = f.after ?? f.afterAsc;
    return stmt.all(defined({
      tenant: f.tenant,
      dagId: f.dagId,
      scheduleId: f.scheduleId,
      status: f.status,
      fromMs: f.fromMs,
      toMs: f.toMs,
      afterS: pos?.startedMs,
      afterId: pos?.runId,
      limit: f.limit,
    }));
  }
}
