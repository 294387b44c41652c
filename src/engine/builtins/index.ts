/**
 * The built-in plugins' code, imported statically by the worker so every bundle carries it.
 * Names and descriptions for the main thread are in `names.ts`.
 */
import { artifact, echo, fail, noop, sleep } from './basic.js';
import { exec } from './exec.js';
import type { BuiltinName } from './names.js';
import type { BuiltinPlugin } from './types.js';

export const BUILTINS: Readonly<Record<BuiltinName, BuiltinPlugin>> = { noop, echo, sleep, fail, artifact, exec };

export { BUILTIN_NAMES, BUILTIN_PLUGINS, type BuiltinName } from './names.js';
export type { BuiltinContext, BuiltinHost, BuiltinPlugin } from './types.js';
