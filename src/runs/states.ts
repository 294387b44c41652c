/**
 * Run and step state machines (CONTRACT §5). Pure: the scheduler asks here before every
 * transition, so a status only ever moves forward.
 *
 * Run:  queued → running → completed | failed | cancelled
 *       running → cancelling → cancelled        (a cancel with steps still in flight)
 *       queued → cancelled                      (cancelled before it started)
 *       running → cancelled                     (a cancel with nothing in flight)
 *
 * Step: pending → queued → running → completed | failed | cancelled
 *       running → retrying → queued → running … (another attempt)
 *       pending → skipped                       (its trigger can no longer be met)
 *       pending | queued | retrying → cancelled (run cancelled)
 *       retrying → failed                       (run timed out while waiting to retry)
 *
 * @example
 * canMoveStep('running', 'retrying') // true
 * assertRunMove('completed', 'running') // throws
 */

export const RUN_STATUSES = ['queued', 'running', 'cancelling', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const STEP_STATUSES = ['pending', 'queued', 'running', 'retrying', 'completed', 'failed', 'skipped', 'cancelled'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export const ATTEMPT_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

const RUN_NEXT: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  queued: ['running', 'cancelled'],
  running: ['cancelling', 'completed', 'failed', 'cancelled'],
  cancelling: ['cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
};

const STEP_NEXT: Readonly<Record<StepStatus, readonly StepStatus[]>> = {
  pending: ['queued', 'skipped', 'cancelled'],
  queued: ['running', 'cancelled'],
  running: ['completed', 'failed', 'retrying', 'cancelled'],
  retrying: ['queued', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  skipped: [],
  cancelled: [],
};

/** A transition that the state machine does not allow: a bug, never a client error. */
export class IllegalTransitionError extends Error {
  constructor(kind: 'run' | 'step', from: string, to: string) {
    super(`illegal ${kind} transition ${from} → ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function canMoveRun(from: RunStatus, to: RunStatus): boolean {
  return RUN_NEXT[from].includes(to);
}

export function canMoveStep(from: StepStatus, to: StepStatus): boolean {
  return STEP_NEXT[from].includes(to);
}

export function assertRunMove(from: RunStatus, to: RunStatus): void {
  if (!canMoveRun(from, to)) throw new IllegalTransitionError('run', from, to);
}

export function assertStepMove(from: StepStatus, to: StepStatus): void {
  if (!canMoveStep(from, to)) throw new IllegalTransitionError('step', from, to);
}

export function isRunTerminal(s: string): boolean {
  return s === 'completed' || s === 'failed' || s === 'cancelled';
}

export function isStepTerminal(s: string): boolean {
  return s === 'completed' || s === 'failed' || s === 'skipped' || s === 'cancelled';
}

/** The event type of a run status change (CONTRACT §6). */
export function runEventType(to: RunStatus): 'run.updated' | 'run.completed' | 'run.failed' | 'run.cancelled' {
  switch (to) {
    case 'completed':
      return 'run.completed';
    case 'failed':
      return 'run.failed';
    case 'cancelled':
      return 'run.cancelled';
    default:
      return 'run.updated';
  }
}

/** Every run status reachable from `from` (itself excluded), for property tests. */
export function runSuccessors(from: RunStatus): readonly RunStatus[] {
  return RUN_NEXT[from];
}

export function stepSuccessors(from: StepStatus): readonly StepStatus[] {
  return STEP_NEXT[from];
}
