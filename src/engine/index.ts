/**
 * Public face of the engine's execution layer: the worker pool, the plugin registry, the
 * worker protocol's error type and the plugin ctx type. (The scheduler builds on these.)
 *
 * @example
 * import { WorkerPool, loadPlugins } from './engine/index.js';
 * const pool = new WorkerPool({ registry: loadPlugins(['plugins']), artifacts, execAllow: ['/bin/echo'] });
 */
export { WorkerPool } from './pool/pool.js';
export type { ArtifactIO, PoolStats, StepResult, StepTask, TaskMeta, WorkerLostEvent, WorkerPoolOptions } from './pool/pool-types.js';
export {
  loadPlugins,
  reloadablePlugins,
  installationPlugins,
  TENANT_PLUGINS_DIR,
  type ReloadableRegistry,
  PluginLoadError,
  PluginManifestSchema,
  type PluginManifest,
  type PluginRegistry,
  type PluginSources,
  type PinCheck,
  type ResolvedPlugin,
} from './plugins/plugins.js';
export { hashPluginDir, hashPluginFiles, readPluginDir, type PluginFile } from './plugins/files.js';
export { StepError, type AbortReason, type StepContext, type StepErrorInfo } from './pool/protocol.js';
export { encodeOutputs, DEFAULT_MAX_OUTPUT_BYTES } from './pool/outputs.js';
export { BUILTIN_NAMES, BUILTIN_PLUGINS } from './builtins/names.js';
