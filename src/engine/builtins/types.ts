import type { StepContext } from '../protocol.js';

/** Server-side settings a built-in may need (the exec allow-list, the work folder root). */
export interface BuiltinHost {
  readonly execAllow: readonly string[];
  readonly workDir: string;
}

/** A built-in gets the plugin ctx plus the host settings. */
export type BuiltinContext = StepContext & { readonly host: BuiltinHost };

export type BuiltinPlugin = (ctx: BuiltinContext) => Promise<Record<string, unknown>>;
