/**
 * Public face of the worker pool: worker threads and plugin host processes that run steps (and
 * what a run of one returns, which plugin tests under `plugins/` read), tenant-owned artifacts
 * and the sandbox check the CLI validates settings with. Only what other folders use: the rest
 * is imported by path inside the engine.
 *
 * @example
 * import { WorkerPool, TenantArtifacts } from './pool/index.js';
 * const pool = new WorkerPool({ registry, artifacts: new TenantArtifacts(store, blobs, clock), perWorkerConcurrency: 64 });
 */
export { WorkerPool } from './pool.js';
export { ABORT_GRACE_MS, type StepResult, type WorkerPoolOptions } from './pool-types.js';
export { DEFAULT_MAX_OUTPUT_BYTES } from './outputs.js';
export { TenantArtifacts } from './tenant-artifacts.js';
export { pluginEnvRefusal } from './plugin-env.js';
