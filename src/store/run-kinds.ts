/**
 * What the run queries of both stores share: the run statuses they name in SQL, and the filter of
 * a page of runs (`GET /runs`, exports).
 */

/**
 * Statuses of runs still in flight (the scheduler's recovery loads these): the run statuses with
 * a move out of them in the state machine (engine/scheduler/states.ts; test/engine/pure.test.ts
 * checks they agree). The store sits below the engine, so it names them itself, once.
 */
export const ACTIVE_RUN_STATUSES = ['queued', 'running', 'cancelling'] as const;
/** Statuses of ended runs: the machine's terminal ones (the same test checks them). */
export const ENDED_RUN_STATUSES = ['completed', 'failed', 'cancelled'] as const;
/** {@link ACTIVE_RUN_STATUSES} as an SQL list, for both stores; the same text as the partial index `runs_schedule_active` (schema.ts). */
export const ACTIVE_IN = ACTIVE_RUN_STATUSES.map((s) => `'${s}'`).join(', ');
/** {@link ENDED_RUN_STATUSES} as an SQL list, for both stores. */
export const ENDED_IN = ENDED_RUN_STATUSES.map((s) => `'${s}'`).join(', ');

export interface RunListFilter {
  tenant: string;
  dagId?: string;
  scheduleId?: string;
  status?: string;
  /** Inclusive lower bound on startedMs. */
  fromMs?: number;
  /** Exclusive upper bound on startedMs. */
  toMs?: number;
  /** Keyset for `startedMs DESC, runId ASC`: rows strictly after this one. */
  after?: { startedMs: number; runId: string };
  /** Keyset for export order `startedMs ASC, runId ASC`. */
  afterAsc?: { startedMs: number; runId: string };
  limit: number;
}
