/**
 * The run, step and attempt statuses as the domain, the edge and the CLI client name them (the
 * lists the routes validate filters against, and "has it ended?"), and the run `outputsHash`
 * the import checks recompute. The state machine itself lives with the scheduler
 * (`engine/scheduler/states.ts`), the only code that moves a status; see docs/ARCHITECTURE.md
 * "Decisions".
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
  isRunTerminal,
  isStepTerminal,
  runOutputsHash,
} from '../engine/index.js';
