import type { StepContext } from '../pool/protocol.js';
import type { ArtifactStream } from '../pool/worker-artifacts.js';

/** Server-side settings a built-in may need (exec's allow-lists and sandbox, the work folder root). */
export interface BuiltinHost {
  readonly execAllow: readonly string[];
  /** Names `with.env` may set (the refused list of exec-env.ts always wins). */
  readonly execEnvAllow: readonly string[];
  /** argv prefix running a program as PID 1 of its own PID namespace, or null (process groups). */
  readonly execWrapper: readonly string[] | null;
  readonly workDir: string;
}

/** A built-in gets the plugin ctx plus the host settings and streaming artifact writes. */
export type BuiltinContext = StepContext & {
  readonly host: BuiltinHost;
  /** A streaming artifact write for this step (bounded memory whatever the size). */
  openArtifact(): ArtifactStream;
};

export type BuiltinPlugin = (ctx: BuiltinContext) => Promise<Record<string, unknown>>;
