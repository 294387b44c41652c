/**
 * What `startServer` (server.ts) builds after `listening`: the engine, the services, the HTTP app
 * and the console. server.ts imports this file (`import()`) once the store is open and the port
 * bound, so a start evaluates these modules — and their own imports — after `listening` is
 * announced, not before (issue #20); requests that arrive meanwhile are parked by the listener.
 * `test/cli/lazy-start.test.ts` checks that server.ts reaches none of them statically.
 */
export { CONSOLE_ROUTES, mountConsole } from '../console/index.js';
export { ArtifactStore } from '../artifacts/index.js';
export { DagService } from '../dags/service.js';
export { PlanCache, Scheduler, TenantArtifacts, WorkerPool } from '../engine/index.js';
export { RunService } from '../runs/service.js';
export { ScheduleFirer, ScheduleService } from '../schedules/index.js';
export { createApp } from '../http/app.js';
export { Ops } from '../ops/index.js';
export { DiskWatermarks, LifecycleMetrics, LifecycleService } from '../lifecycle/index.js';
export { EventExports } from '../events/index.js';
export { preloadDags } from './preload.js';
export { devAuth } from './dev.js';
export { eventHub } from './hub.js';
export { plainAnswers } from '../http/plain.js';
export { serverPlugins } from './plugins.js';
