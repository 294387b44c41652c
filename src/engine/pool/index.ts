/**
 * Public face of the worker pool: worker threads and plugin host processes that run steps,
 * their protocol's error type, output encoding, tenant-owned artifacts and the sandbox checks
 * the CLI validates settings with.
 *
 * @example
 * import { WorkerPool, TenantArtifacts } from './pool/index.js';
 * const pool = new WorkerPool({ registry, artifacts: new TenantArtifacts(store, blobs, clock), perWorkerConcurrency: 64 });
 */
export { WorkerPool } from './pool.js';
export type { ArtifactIO, PoolStats, StepResult, StepTask, TaskMeta, WorkerLostEvent, WorkerPoolOptions } from './pool-types.js';
export { StepError, type AbortReason, type StepContext, type StepErrorInfo } from './protocol.js';
export { encodeOutputs, DEFAULT_MAX_OUTPUT_BYTES } from './outputs.js';
export { TenantArtifacts } from './tenant-artifacts.js';
export { pluginEnvRefusal } from './sandbox.js';
