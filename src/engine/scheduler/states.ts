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
import { canonicalHashOfStrings } from '../../core/index.js';

const RUN_NEXT = {
  queued: ['running', 'cancelled'],
  running: ['cancelling', 'completed', 'failed', 'cancelled'],
  cancelling: ['cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
} as const satisfies Record<string, readonly string[]>;

const STEP_NEXT = {
  pending: ['queued', 'skipped', 'cancelled'],
  queued: ['running', 'cancelled'],
  running: ['completed', 'failed', 'retrying', 'cancelled'],
  retrying: ['queued', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  skipped: [],
  cancelled: [],
} as const satisfies Record<string, readonly string[]>;

/** Every run status: the keys of the run table, in its order (queued first, terminal last). */
export type RunStatus = keyof typeof RUN_NEXT;
export const RUN_STATUSES = Object.keys(RUN_NEXT) as [RunStatus, ...RunStatus[]];

/** Every step status: the keys of the step table, in its order. */
export type StepStatus = keyof typeof STEP_NEXT;
export const STEP_STATUSES = Object.keys(STEP_NEXT) as [StepStatus, ...StepStatus[]];

/** An attempt is one execution of a step: it runs, then ends like a step does (never skipped). */
export const ATTEMPT_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const satisfies readonly StepStatus[];
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

// Each table only names statuses of its own machine.
RUN_NEXT satisfies Record<RunStatus, readonly RunStatus[]>;
STEP_NEXT satisfies Record<StepStatus, readonly StepStatus[]>;

/** A transition that the state machine does not allow: a bug, never a client error. */
export class IllegalTransitionError extends Error {
  constructor(kind: 'run' | 'step', from: string, to: string) {
    super(`illegal ${kind} transition ${from} → ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function canMoveRun(from: RunStatus, to: RunStatus): boolean {
  return (RUN_NEXT[from] as readonly RunStatus[]).includes(to);
}

export function canMoveStep(from: StepStatus, to: StepStatus): boolean {
  return (STEP_NEXT[from] as readonly StepStatus[]).includes(to);
}

export function assertRunMove(from: RunStatus, to: RunStatus): void {
  if (!canMoveRun(from, to)) throw new IllegalTransitionError('run', from, to);
}

export function assertStepMove(from: StepStatus, to: StepStatus): void {
  if (!canMoveStep(from, to)) throw new IllegalTransitionError('step', from, to);
}

const RUN_TERMINAL: ReadonlySet<string> = new Set(RUN_STATUSES.filter((s) => RUN_NEXT[s].length === 0));
const STEP_TERMINAL: ReadonlySet<string> = new Set(STEP_STATUSES.filter((s) => STEP_NEXT[s].length === 0));

/** A run status with no way out of it (completed, failed, cancelled); `s` may come from a row. */
export function isRunTerminal(s: string): boolean {
  return RUN_TERMINAL.has(s);
}

/** A step status with no way out of it (completed, failed, skipped, cancelled). */
export function isStepTerminal(s: string): boolean {
  return STEP_TERMINAL.has(s);
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

/**
 * Run `outputsHash` (CONTRACT §5): SHA-256 of the canonical object `{stepId: outputsHash}` of
 * the run's completed steps (`{}` when none completed). The scheduler records it when a run
 * ends; an import checks a record against it.
 *
 * @example runOutputsHash([{ stepId: 'a', status: 'completed', outputsHash: 'ab…' }])
 */
export function runOutputsHash(steps: Iterable<{ stepId: string; status: string; outputsHash: string | null }>): string {
  const o: Record<string, string> = {};
  for (const s of steps) if (s.status === 'completed' && s.outputsHash !== null) o[s.stepId] = s.outputsHash;
  return canonicalHashOfStrings(o); // ≈ 1 % of the main thread's sustained samples with the library's walk
}
