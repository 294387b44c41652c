/**
 * The run and step statuses and their state machine, as the domain and the edge name them.
 * The machine lives with the scheduler (`engine/scheduler/states.ts`), the only code that
 * moves a status; see docs/ARCHITECTURE.md "Decisions".
 *
 * @example
 * import { isRunTerminal, RUN_STATUSES } from '../runs/states.js';
 */
export {
  RUN_STATUSES,
  STEP_STATUSES,
  ATTEMPT_STATUSES,
  type RunStatus,
  type StepStatus,
  type AttemptStatus,
  IllegalTransitionError,
  canMoveRun,
  canMoveStep,
  assertRunMove,
  assertStepMove,
  isRunTerminal,
  isStepTerminal,
  runEventType,
  runSuccessors,
  stepSuccessors,
} from '../engine/index.js';
