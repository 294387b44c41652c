/** Built-in plugin names (CONTRACT §9), known before the engine starts. */
export const BUILTIN_PLUGIN_NAMES = new Set(['noop', 'echo', 'sleep', 'fail', 'artifact', 'exec']);
