/**
 * Public face of the scheduler: the run/step loop that owns live runs, the plan cache keyed
 * by DAG hash, the timer heap (also used by the schedule firer) and the live-run shape the
 * run service answers from.
 *
 * @example
 * import { Scheduler, PlanCache } from './scheduler/index.js';
 * const scheduler = new Scheduler({ store, pool, plugins, logs, plans: new PlanCache(), logger, limits: { maxInFlightSteps: 64 } });
 */
export { Scheduler, DEFAULT_LIMITS, LOG_MEDIA_TYPE } from './scheduler.js';
export type { LogSink, PinnedPlugins, SchedulerEvents, SchedulerOptions, StepRunner } from './scheduler.js';
export { PlanCache, type PlanInfo } from './plans.js';
export { TimerHeap } from './timers.js';
export type { LiveRun, LiveStep } from './live.js';
export * from './states.js';
