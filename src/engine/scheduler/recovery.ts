/**
 * Recovery at start-up: every run the last process left in flight is loaded back into memory
 * and made consistent, as after a crash (a drain that timed out leaves the same state).
 *
 * - `queued` runs go back to their tenant's FIFO, oldest first.
 * - A step left `running` had its attempt interrupted: the attempt is recorded `failed` with
 *   `ORCHESTRATOR_RESTART` (retryable), and the step retries if attempts remain, else fails
 *   and the run proceeds per triggers. (A `queued` step was never handed to a worker: the
 *   scheduler writes `running` and the attempt before it dispatches, so it is simply queued
 *   again.)
 * - `retrying` steps get their timer back from `next_attempt_ms`.
 * - `pending` steps are re-evaluated against their predecessors (normally: still waiting).
 * - `cancelling` runs finish cancelling: interrupted steps end `cancelled`, then the run.
 *
 * @example
 * const n = await recoverRuns({ ports, plans, logger, now: Date.now(), machine });
 */
import type { Logger } from 'pino';
import { isRunTerminal, isStepTerminal } from './states.js';
import type { AttemptRow, Ports, RunRow } from '../../store/index.js';
import { failedResult } from '../pool/pool-types.js';
import { liveRun, newAttempt, type LiveRun } from './live.js';
import type { RunMachine } from './machine.js';
import type { PlanCache } from './plans.js';
import { decide } from './triggers.js';

export interface RecoveryDeps {
  ports: Ports;
  plans: PlanCache;
  logger: Logger;
  now: number;
  /** The state machine the runs are handed to, through its public methods only. */
  machine: RunMachine;
}

export const RESTART_CODE = 'ORCHESTRATOR_RESTART';
const RESTART_MESSAGE = 'the orchestrator restarted while this attempt was running';

/** Loads and repairs every run in flight; returns how many. */
export async function recoverRuns(d: RecoveryDeps): Promise<number> {
  const n = await loadRuns(d, await d.ports.runs.active());
  if (n > 0) d.logger.info({ runs: n }, 'recovered runs in flight');
  return n;
}

/**
 * Loads these runs (not ended) into the machine and repairs them as recovery does: the same
 * code for a start-up's recovery and for the runs a node takes over (`node.ts`). `interrupted`:
 * why an attempt found `running` failed. Returns how many were loaded.
 */
export async function loadRuns(d: RecoveryDeps, rows: readonly RunRow[], interrupted = RESTART_MESSAGE): Promise<number> {
  let n = 0;
  for (const row of rows) {
    const version = await d.ports.catalog.getVersion(row.tenant, row.dagId, row.dagVersion);
    if (!version) {
      d.logger.error({ runId: row.runId }, 'recovery: the DAG version of a run is missing; run left as it is');
      continue;
    }
    const latest = new Map<string, AttemptRow>();
    const [attempts, steps] = await Promise.all([d.ports.runs.attemptsOfRun(row.runId), d.ports.runs.steps(row.runId)]);
    for (const a of attempts) latest.set(a.stepId, a);
    const run = liveRun(row, d.plans.forRow(version), d.plans.pinsFor(version), steps, latest);
    countPredecessors(run);
    n++;
    if (run.status === 'queued') {
      d.machine.admit(run);
      continue;
    }
    d.machine.adopt(run);
    repair(run, d, interrupted);
  }
  return n;
}

/** Sets the trigger counters, `unfinished` and `anyFailed` from the steps' statuses. */
function countPredecessors(run: LiveRun): void {
  for (const s of run.steps) {
    if (!isStepTerminal(s.status)) continue;
    run.unfinished--;
    if (s.status === 'failed') run.anyFailed = true;
    for (const i of run.info.succs[s.def.index]!) {
      const t = run.steps[i]!;
      t.done++;
      if (s.status === 'completed') t.ok++;
      if (s.status === 'failed') t.failed++;
    }
  }
}

function repair(run: LiveRun, d: RecoveryDeps, why: string): void {
  const m = d.machine;
  m.count(run);
  const interrupted = failedResult(RESTART_CODE, why, true);
  for (const s of run.steps) {
    if (isRunTerminal(run.status)) return;
    if (s.status === 'running') {
      if (!s.current || s.current.attempt !== s.attempt) s.current = newAttempt(s, s.attempt, s.startedMs ?? d.now);
      m.stepInFlight(s);
      m.finishAttempt(s, interrupted, null);
    }
  }
  if (isRunTerminal(run.status)) return;
  if (run.cancelRequested) {
    if (run.status === 'cancelling') m.stopRun(run, 'cancel');
    return;
  }
  for (const s of run.steps) {
    if (isRunTerminal(run.status)) return;
    if (s.status === 'queued') {
      m.requeue(s);
    } else if (s.status === 'retrying') {
      m.retryAt(s, s.nextAttemptMs ?? d.now);
    } else if (s.status === 'pending') {
      const v = decide(s.def.trigger, s.def.preds.length, s.done, s.ok, s.failed);
      if (v === 'run') m.markQueued(s);
      else if (v === 'skip') m.skip(s);
    }
  }
  if (!isRunTerminal(run.status) && run.unfinished === 0) m.finishRun(run);
}
