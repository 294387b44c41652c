/**
 * The run, step and attempt statuses as the domain, the edge and the CLI client name them (the
 * lists the routes validate filters against, and "has it ended?"), and the run `outputsHash`
 * the import checks recompute. The state machine itself lives with the scheduler
 * (`engine/scheduler/states.ts`), the only code that moves a status; see docs/ARCHITECTURE.md
 * "Decisions". Imported from that file, not the engine's face, so the CLI client reading these
 * lists does not load the engine.
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
} from '../engine/scheduler/states.js';
