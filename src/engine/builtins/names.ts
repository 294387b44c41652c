/**
 * Names and descriptions of the built-in plugins (CONTRACT §9). Kept apart from their code so
 * the main thread (registry, DAG validation) does not load the implementations.
 */
export const BUILTIN_PLUGINS = [
  { name: 'noop', description: 'does nothing; outputs {}' },
  { name: 'echo', description: 'returns its inputs' },
  { name: 'sleep', description: 'waits with.ms milliseconds, stops early on abort; outputs {sleptMs}' },
  {
    name: 'fail',
    description: 'fails with with.code (default STEP_FAILED) and with.message; with.times N fails only the first N attempts, then outputs {attempt}',
  },
  {
    name: 'artifact',
    description: 'stores with.content as an artifact of with.mediaType (default text/plain); outputs {hash,size,mediaType}',
  },
  {
    name: 'exec',
    description: 'runs an allow-listed program with with.args (no shell) in a per-attempt work folder; outputs {exitCode:0,stdoutHash}',
  },
] as const;

export type BuiltinName = (typeof BUILTIN_PLUGINS)[number]['name'];

export const BUILTIN_NAMES: readonly string[] = BUILTIN_PLUGINS.map((p) => p.name);
