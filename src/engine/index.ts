/**
 * Public face of the engine, in three subsystems: `scheduler/` (runs and steps moving through
 * their states), `pool/` (worker threads and plugin hosts running steps) and `plugins/` (the
 * registry of plugin code); `builtins/` are the plugins every bundle carries. Other folders
 * import the engine only from here.
 *
 * @example
 * import { WorkerPool, loadPlugins } from './engine/index.js';
 * const pool = new WorkerPool({ registry: loadPlugins(['plugins']), artifacts, perWorkerConcurrency: 64, execAllow: ['/bin/echo'] });
 */
export * from './scheduler/index.js';
export * from './pool/index.js';
export * from './plugins/index.js';
export { BUILTIN_NAMES } from './builtins/names.js';
