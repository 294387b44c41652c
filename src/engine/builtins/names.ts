/**
 * Names, descriptions and `inputsSchema`s of the built-in plugins (CONTRACT §9). Kept apart
 * from their code so the main thread (registry, DAG validation) does not load the
 * implementations. The schemas are what publish checks a step's fixed `with` values against
 * (docs/DAGS.md "Checks at publish"); the implementations check the resolved values again.
 * Only `exec` closes its object (an unknown key is refused): the others stand in for real
 * plugins in samples and drafts, so an undeclared key is a publish warning, not a refusal.
 */
const MAX_TIMER_MS = 2_147_483_647;

export const BUILTIN_PLUGINS = [
  { name: 'noop', description: 'does nothing; outputs {}', inputsSchema: { type: 'object' } },
  { name: 'echo', description: 'returns its inputs', inputsSchema: { type: 'object' } },
  {
    name: 'sleep',
    description: 'waits with.ms milliseconds, stops early on abort; outputs {sleptMs}',
    inputsSchema: {
      type: 'object',
      properties: { ms: { type: 'number', minimum: 0, maximum: MAX_TIMER_MS } },
    },
  },
  {
    name: 'fail',
    description: 'fails with with.code (default STEP_FAILED) and with.message; with.times N fails only the first N attempts, then outputs {attempt}',
    inputsSchema: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        times: { type: 'integer', minimum: 0 },
        retryable: { type: 'boolean' },
      },
    },
  },
  {
    name: 'artifact',
    description: 'stores with.content as an artifact of with.mediaType (default text/plain); outputs {hash,size,mediaType}',
    inputsSchema: {
      type: 'object',
      required: ['content'],
      properties: { content: { type: 'string' }, mediaType: { type: 'string', minLength: 1, maxLength: 255 } },
    },
  },
  {
    name: 'exec',
    description: 'runs an allow-listed program with with.args (no shell) in a per-attempt work folder; outputs {exitCode:0,stdoutHash}',
    inputsSchema: {
      type: 'object',
      required: ['program'],
      properties: {
        program: { type: 'string', minLength: 1 },
        args: { type: 'array', items: { type: 'string' } },
        env: { type: 'object', additionalProperties: { type: 'string' } },
      },
      additionalProperties: false,
    },
  },
] as const;

export type BuiltinName = (typeof BUILTIN_PLUGINS)[number]['name'];

export const BUILTIN_NAMES: readonly string[] = BUILTIN_PLUGINS.map((p) => p.name);
