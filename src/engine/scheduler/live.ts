/**
 * The in-memory state of runs in flight. The scheduler mutates these objects; the group commit
 * (`commit.ts`) writes their current state through to SQLite before anything is observable.
 */
import { MinHeap } from '../../core/heap.js';
import { canonicalHash } from '../../core/index.js';
import { resolveWith, type PinEntry, type PlanStep } from '../../dags/index.js';
import { actorDetail } from '../../events/actor.js';
import type { AttemptRow, NewEvent, RunRow, RunUpdate, StepRow } from '../../store/index.js';
import { runEventType, type AttemptStatus, type RunStatus, type StepStatus } from './states.js';
import type { PlanInfo } from './plans.js';

export interface AttemptRec {
  readonly step: LiveStep;
  readonly attempt: number;
  status: AttemptStatus;
  readonly startedMs: number;
  endedMs: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  logsRef: string | null;
  outputsHash: string | null;
}

export interface LiveStep {
  readonly run: LiveRun;
  readonly def: PlanStep;
  status: StepStatus;
  attempt: number;
  startedMs: number | null;
  endedMs: number | null;
  inputsHash: string | null;
  outputsHash: string | null;
  outputsJson: string | null;
  /** Parsed outputs, kept only while a later step may reference them. */
  outputs: Record<string, unknown> | undefined;
  logsRef: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  retryable: number | null;
  nextAttemptMs: number | null;
  /** Predecessors ended / completed / failed (trigger counters). */
  done: number;
  ok: number;
  failed: number;
  /** The attempt running or last run. */
  current: AttemptRec | null;
  /** Set once the attempt is handed to the pool (pool task id). */
  taskId: string | null;
  /** Counted in the scheduler's in-flight steps. */
  inFlight: boolean;
  /** An abort was asked for before the task reached the pool. */
  abortRequested: boolean;
}

export interface LiveRun {
  readonly runId: string;
  readonly tenant: string;
  readonly dagId: string;
  readonly dagVersion: string;
  readonly traceId: string;
  /** The schedule that started the run (its events carry it), or null. */
  readonly scheduleId: string | null;
  readonly info: PlanInfo;
  /** The DAG version's plugin pins by step reference (null: stored before pinning, not pinned). */
  readonly pins: ReadonlyMap<string, PinEntry> | null;
  readonly inputs: unknown;
  readonly startedMs: number;
  status: RunStatus;
  endedMs: number | null;
  outputsHash: string | null;
  cancelReason: string | null;
  /** Who asked for the cancel (docs/API.md "Actors"): on the run's cancel events and row. */
  cancelledBy: string | null;
  readonly steps: LiveStep[];
  /** Steps not yet in a terminal status. */
  unfinished: number;
  /** Steps handed to the pool and not yet recorded. */
  inFlight: number;
  anyFailed: boolean;
  cancelRequested: boolean;
  /** Set when the run timed out: what is left ends with this code. */
  abortCode: 'RUN_TIMEOUT' | null;
  /** Counted in the per-tenant running runs. */
  counted: boolean;
  /** Ready step indexes, smallest plan index (topological, then step id) first. */
  readonly ready: MinHeap<number>;
  inReadyRing: boolean;
}

function newStep(run: LiveRun, def: PlanStep): LiveStep {
  return {
    run,
    def,
    status: 'pending',
    attempt: 0,
    startedMs: null,
    endedMs: null,
    inputsHash: null,
    outputsHash: null,
    outputsJson: null,
    outputs: undefined,
    logsRef: null,
    errorCode: null,
    errorMessage: null,
    retryable: null,
    nextAttemptMs: null,
    done: 0,
    ok: 0,
    failed: 0,
    current: null,
    taskId: null,
    inFlight: false,
    abortRequested: false,
  };
}

/** A live run from its row (new or recovered); steps start `pending` unless `rows` say otherwise. */
export function liveRun(
  row: RunRow,
  info: PlanInfo,
  pins: ReadonlyMap<string, PinEntry> | null,
  rows?: readonly StepRow[],
  attempts?: ReadonlyMap<string, AttemptRow>,
): LiveRun {
  const run: LiveRun = {
    runId: row.runId,
    tenant: row.tenant,
    dagId: row.dagId,
    dagVersion: row.dagVersion,
    traceId: row.traceId,
    scheduleId: row.scheduleId ?? null,
    info,
    pins,
    inputs: JSON.parse(row.inputs) as unknown,
    startedMs: row.startedMs,
    status: row.status as RunStatus,
    endedMs: row.endedMs,
    outputsHash: row.outputsHash,
    cancelReason: row.cancelReason,
    cancelledBy: row.cancelledBy ?? null,
    steps: [],
    unfinished: info.plan.steps.length,
    inFlight: 0,
    anyFailed: false,
    cancelRequested: row.status === 'cancelling',
    abortCode: null,
    counted: false,
    ready: new MinHeap<number>((a, b) => a < b),
    inReadyRing: false,
  };
  for (const def of info.plan.steps) run.steps.push(newStep(run, def));
  if (rows) {
    for (const r of rows) {
      const def = info.plan.byId.get(r.stepId);
      if (!def) continue;
      const s = run.steps[def.index]!;
      Object.assign(s, {
        status: r.status as StepStatus,
        attempt: r.attempt,
        startedMs: r.startedMs,
        endedMs: r.endedMs,
        inputsHash: r.inputsHash,
        outputsHash: r.outputsHash,
        outputsJson: r.outputs,
        logsRef: r.logsRef,
        errorCode: r.errorCode,
        errorMessage: r.errorMessage,
        retryable: r.retryable,
        nextAttemptMs: r.nextAttemptMs,
      });
      const a = attempts?.get(r.stepId);
      if (a && a.attempt === r.attempt) s.current = attemptRec(s, a);
    }
  }
  return run;
}

function attemptRec(step: LiveStep, a: AttemptRow): AttemptRec {
  return {
    step,
    attempt: a.attempt,
    status: a.status as AttemptStatus,
    startedMs: a.startedMs,
    endedMs: a.endedMs,
    errorCode: a.errorCode,
    errorMessage: a.errorMessage,
    logsRef: a.logsRef,
    outputsHash: a.outputsHash,
  };
}

/**
 * A live run's new state, as the group commit writes it: a copy taken when the batch is taken,
 * never the live object — on PostgreSQL the write runs turns later, when the run may have ended
 * in memory (its end belongs to the next batch, with its event and its lease's release).
 */
export function runUpdate(r: LiveRun): RunUpdate {
  return { runId: r.runId, status: r.status, outputsHash: r.outputsHash, endedMs: r.endedMs, cancelReason: r.cancelReason, cancelledBy: r.cancelledBy };
}

/** The row of a live step, as the group commit writes it. */
export function stepRow(s: LiveStep): StepRow {
  return {
    runId: s.run.runId,
    stepId: s.def.id,
    topoIndex: s.def.index,
    status: s.status,
    attempt: s.attempt,
    startedMs: s.startedMs,
    endedMs: s.endedMs,
    inputsHash: s.inputsHash,
    outputsHash: s.outputsHash,
    outputs: s.outputsJson,
    logsRef: s.logsRef,
    errorCode: s.errorCode,
    errorMessage: s.errorMessage,
    retryable: s.retryable,
    nextAttemptMs: s.nextAttemptMs,
  };
}

export function attemptRow(a: AttemptRec): AttemptRow {
  return {
    runId: a.step.run.runId,
    stepId: a.step.def.id,
    attempt: a.attempt,
    status: a.status,
    startedMs: a.startedMs,
    endedMs: a.endedMs,
    errorCode: a.errorCode,
    errorMessage: a.errorMessage,
    logsRef: a.logsRef,
    outputsHash: a.outputsHash,
  };
}

/** Outputs of a completed step (parsed once, on demand), for reference resolution. */
export function outputsOf(run: LiveRun, stepId: string): object | undefined {
  const def = run.info.plan.byId.get(stepId);
  const s = def && run.steps[def.index];
  if (!s || s.status !== 'completed' || s.outputsJson === null) return undefined;
  return (s.outputs ??= JSON.parse(s.outputsJson) as Record<string, unknown>);
}

/** A fresh attempt record (status running). */
export function newAttempt(step: LiveStep, attempt: number, startedMs: number): AttemptRec {
  return {
    step,
    attempt,
    status: 'running',
    startedMs,
    endedMs: null,
    errorCode: null,
    errorMessage: null,
    logsRef: null,
    outputsHash: null,
  };
}

/**
 * The inputs of a step's next attempt: its `with` fixed at plan time, or resolved against the
 * run's inputs and the outputs of the steps it names. Throws StepReferenceError for a reference
 * that cannot be resolved (the attempt then fails without running).
 */
export function attemptInputs(step: LiveStep): { inputs: Record<string, unknown>; hash: string } {
  const run = step.run;
  const fixed = run.info.fixedWith[step.def.index];
  if (fixed) return { inputs: fixed.value, hash: fixed.hash };
  const inputs = resolveWith(step.def.with, { inputs: run.inputs, outputs: (id) => outputsOf(run, id), notCompleted: 'null' }) as Record<string, unknown>;
  return { inputs, hash: canonicalHash(inputs) };
}

/** The event of a run's move to `to`; a cancel's events say who asked and why (docs/API.md "Actors"). */
export function runEvent(run: LiveRun, to: RunStatus, tsMs: number): NewEvent {
  const cancel = run.cancelRequested && (to === 'cancelling' || to === 'cancelled');
  return {
    tenant: run.tenant, type: runEventType(to), dagId: run.dagId, runId: run.runId, stepId: null,
    status: to, tsMs, traceId: run.traceId, scheduleId: run.scheduleId,
    detail: cancel ? actorDetail(run.cancelledBy, { cancelReason: run.cancelReason }) : null,
  };
}

/** The event of a step's move to `to`. */
export function stepEvent(step: LiveStep, to: StepStatus, tsMs: number): NewEvent {
  const run = step.run;
  return {
    tenant: run.tenant, type: 'step.updated', dagId: run.dagId, runId: run.runId, stepId: step.def.id,
    status: to, tsMs, traceId: run.traceId, scheduleId: run.scheduleId,
  };
}
