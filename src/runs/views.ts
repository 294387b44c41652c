/**
 * How runs, step executions and attempts look on the wire (CONTRACT §5): exactly these
 * fields, times as ISO-8601 UTC with ms, absent values as `null`.
 *
 * @example
 * const view = runView((await ports.runs.get(t, id))!, await ports.runs.steps(id), await ports.runs.attemptsOfRun(id));
 */
import { isoOrNull } from '../core/index.js';
import type { AttemptRow, RunRow, StepRow } from '../store/index.js';

export interface AttemptView {
  attempt: number;
  status: string;
  startedUtc: string;
  endedUtc: string | null;
  durationMs: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  logsRef: string | null;
  outputsHash: string | null;
}

export interface StepView {
  stepId: string;
  status: string;
  attempt: number;
  attempts: AttemptView[];
  startedUtc: string | null;
  endedUtc: string | null;
  durationMs: number | null;
  inputsHash: string | null;
  outputsHash: string | null;
  outputs: Record<string, unknown> | null;
  logsRef: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  retryable: boolean | null;
}

export interface RunView {
  runId: string;
  tenant: string;
  dagId: string;
  dagVersion: string;
  dagHash: string;
  runToken: string | null;
  /** The schedule that started the run and the fire time it started for; null otherwise. */
  scheduleId: string | null;
  scheduledUtc: string | null;
  traceId: string;
  status: string;
  inputsHash: string;
  outputsHash: string | null;
  createdUtc: string;
  startedUtc: string;
  endedUtc: string | null;
  durationMs: number | null;
  /** Who started the run (a token's `sub`, `schedule:<id>`) and who cancelled it, and why; null when not recorded (docs/API.md "Actors"). */
  createdBy: string | null;
  cancelledBy: string | null;
  cancelReason: string | null;
  /** Absent in list pages (`GET /runs`), present everywhere else. */
  steps?: StepView[];
}

function duration(start: number | null, end: number | null): number | null {
  return start === null || end === null ? null : Math.max(0, end - start);
}

export function attemptView(a: AttemptRow): AttemptView {
  return {
    attempt: a.attempt,
    status: a.status,
    startedUtc: new Date(a.startedMs).toISOString(),
    endedUtc: isoOrNull(a.endedMs),
    durationMs: duration(a.startedMs, a.endedMs),
    errorCode: a.errorCode,
    errorMessage: a.errorMessage,
    logsRef: a.logsRef,
    outputsHash: a.outputsHash,
  };
}

export function stepView(s: StepRow, attempts: readonly AttemptRow[]): StepView {
  return {
    stepId: s.stepId,
    status: s.status,
    attempt: s.attempt,
    attempts: attempts.map(attemptView),
    startedUtc: isoOrNull(s.startedMs),
    endedUtc: isoOrNull(s.endedMs),
    durationMs: duration(s.startedMs, s.endedMs),
    inputsHash: s.inputsHash,
    outputsHash: s.outputsHash,
    outputs: s.outputs === null ? null : (JSON.parse(s.outputs) as Record<string, unknown>),
    logsRef: s.logsRef,
    errorCode: s.errorCode,
    errorMessage: s.errorMessage,
    retryable: s.retryable === null ? null : s.retryable === 1,
  };
}

/** Attempts of a run grouped by step id (rows come ordered by step id, then attempt). */
export function groupAttempts(rows: readonly AttemptRow[]): Map<string, AttemptRow[]> {
  const out = new Map<string, AttemptRow[]>();
  for (const a of rows) {
    let list = out.get(a.stepId);
    if (!list) out.set(a.stepId, (list = []));
    list.push(a);
  }
  return out;
}

/** A run; with `steps`, its step executions (in the order given) with their attempts. */
export function runView(r: RunRow, steps?: readonly StepRow[], attempts?: readonly AttemptRow[]): RunView {
  const v: RunView = {
    runId: r.runId,
    tenant: r.tenant,
    dagId: r.dagId,
    dagVersion: r.dagVersion,
    dagHash: r.dagHash,
    runToken: r.runToken,
    scheduleId: r.scheduleId ?? null,
    scheduledUtc: isoOrNull(r.scheduledMs),
    traceId: r.traceId,
    status: r.status,
    inputsHash: r.inputsHash,
    outputsHash: r.outputsHash,
    createdUtc: new Date(r.createdMs).toISOString(),
    startedUtc: new Date(r.startedMs).toISOString(),
    endedUtc: isoOrNull(r.endedMs),
    durationMs: duration(r.startedMs, r.endedMs),
    createdBy: r.createdBy ?? null,
    cancelledBy: r.cancelledBy ?? null,
    cancelReason: r.cancelReason,
  };
  if (steps) {
    const byStep = groupAttempts(attempts ?? []);
    v.steps = steps.map((s) => stepView(s, byStep.get(s.stepId) ?? []));
  }
  return v;
}
