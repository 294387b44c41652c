/**
 * Public face of the scheduler: the run/step loop that owns live runs, the plan cache keyed
 * by DAG hash, the timer heap (also used by the schedule firer), the live-run shape the
 * run service answers from, and the statuses of the state machine (`states.ts`) that the domain
 * names. Only what other folders use: the rest is imported by path inside the engine.
 *
 * @example
 * import { Scheduler, PlanCache } from './scheduler/index.js';
 * const scheduler = new Scheduler({ store, pool, plugins, logs, plans: new PlanCache(), logger, limits: schedulerLimits(config) });
 */
export { Scheduler, runStartedEvent, type PinnedPlugins, type SchedulerLimits, type SchedulerNode } from './scheduler.js';
export { PlanCache } from './plans.js';
export { TimerHeap } from './timers.js';
export type { LiveRun } from './live.js';
export { RUN_STATUSES, STEP_STATUSES, ATTEMPT_STATUSES, type RunStatus, type StepStatus, type AttemptStatus, isRunTerminal, isStepTerminal, runOutputsHash } from './states.js';
