/** Public types of the worker pool and the small result helpers it shares. */
import { isAbsolute, resolve } from 'node:path';
import type { ResourceLimits } from 'node:worker_threads';
import { formatLogLine, StepError, toStepErrorInfo, type AbortReason, type StepErrorInfo } from './protocol.js';
import type { PluginRegistry, ResolvedPlugin } from '../plugins/plugins.js';
import { ENV_NAME_RE, refusedEnvReason } from '../../dags/exec-policy.js';
import { pluginEnvRefusal } from './plugin-env.js';
import { encodeOutputs } from './outputs.js';
import type { BuiltinName } from '../builtins/names.js';

/** Who an artifact request is for: the ArtifactIO checks/records tenant ownership with it. */
export interface TaskMeta {
  taskId: string;
  tenant: string;
  runId: string;
  stepId: string;
  attempt: number;
  /** `name@version` of the plugin running. */
  plugin: string;
}

/**
 * Artifact I/O on behalf of steps, run on the main thread. `read` returns null for an artifact
 * that is absent or not the task's tenant's. Errors with code `ENOSPC`/`EDQUOT`/`SQLITE_FULL`
 * reach the step as `INSUFFICIENT_STORAGE` (retryable).
 */
export interface ArtifactIO {
  write(task: TaskMeta, bytes: Uint8Array, mediaType: string): Promise<string> | string;
  read(task: TaskMeta, hash: string): Promise<Uint8Array | null> | Uint8Array | null;
  /** A streaming write (exec stdout, large writes): bytes go to disk as they come. */
  openWrite(task: TaskMeta): Promise<ArtifactSink> | ArtifactSink;
}

/** One streaming artifact write on behalf of a step. */
export interface ArtifactSink {
  /** Appends (sequentially, in call order). */
  write(bytes: Uint8Array): Promise<void>;
  /** Stores the object, records the task's tenant as its owner, returns its hash. */
  commit(mediaType: string): Promise<string>;
  /** Drops what was written. */
  abort(): Promise<void>;
}

export interface WorkerPoolOptions {
  /** Resolves `"name"`/`"name@version"` tasks (tests, built-ins); the scheduler hands resolved plugins. */
  registry: PluginRegistry;
  artifacts: ArtifactIO;
  /** Worker threads per plugin host (`--workers`). */
  size: number;
  /** Steps run at once by one worker (the server's: `STEP_SLOTS_PER_WORKER` in cli/config.ts). */
  perWorkerConcurrency: number;
  /** Absolute paths of the programs the `exec` built-in may run (default none). */
  execAllow?: string[];
  /** Variable names exec steps may set in `with.env` (loader/interpreter variables never). */
  execEnvAllow?: string[];
  /**
   * Root of the hosts' work folders (`--work-dir`); must be outside the data folder. Each host
   * gets `<workDir>/<tenant>.<random>` (its user, 0700).
   */
  workDir: string;
  /**
   * Whether this pool is the only user of `workDir` (the server's is: one server per data
   * folder, the work folder derived from it): then what a killed predecessor left there is
   * removed at start (default false).
   */
  ownsWorkDir?: boolean;
  /** Run hosts as this user when the server is root (`--plugin-user`; see docs/SECURITY.md). */
  pluginUser: string;
  /** Names of this process's environment variables passed to every host (default none). */
  pluginEnv?: string[];
  /** Folder plugins (names, or `*`) allowed the network when they declare `capabilities.network`. */
  pluginNetwork?: string[];
  /**
   * Folder plugins every host may read (default: the installation-wide ones the registry lists). Installation-wide
   * plugins belong here; a tenant's own plugins must not (hosts read those only for that tenant,
   * once it runs them).
   */
  sharedPlugins?: () => ResolvedPlugin[];
  /** Plugin host processes at most (`--max-hosts`); idle ones are retired to make room. */
  maxHosts: number;
  /** A host without steps for this long is retired (`--host-idle-timeout`). */
  hostIdleMs: number;
  /** Told about things the operator should know (a skipped symlink in a plugin, a host that died). */
  warn?: (message: string, fields?: Record<string, unknown>) => void;
  /** How long an aborted step may take to stop before its worker is replaced (the contract's: {@link ABORT_GRACE_MS}). */
  abortGraceMs: number;
  resourceLimits?: ResourceLimits;
  /** Canonical outputs size limit (the contract's: `DEFAULT_MAX_OUTPUT_BYTES`, 1 MiB). */
  maxOutputBytes: number;
  /** Log bytes kept per attempt. */
  maxLogBytes: number;
  /** Where workers' stdout/stderr (plugins' console output) goes (default: this process's stderr). */
  workerOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Told when a worker is lost or abandoned (for the server log and metrics); `detail` may name paths. */
  onWorkerLost?: (event: WorkerLostEvent) => void;
}

export interface WorkerLostEvent {
  workerId: number;
  /** Step-safe summary (also the WORKER_LOST message of its steps). */
  reason: string;
  /** The underlying error's message, for the operator only. */
  detail?: string;
  /** Steps that were running on it. */
  tasks: string[];
  /** Whether it never became ready (a start-up failure). */
  duringStart: boolean;
}

/** One step attempt to run. */
export interface StepTask {
  /** Unique among in-flight tasks (default `${runId}/${stepId}/${attempt}`); used by `abort`. */
  taskId?: string;
  /** `"name"`, `"name@version"`, or an already resolved plugin. */
  plugin: string | ResolvedPlugin;
  inputs: Record<string, unknown>;
  tenant: string;
  runId: string;
  stepId: string;
  attempt: number;
  timeoutMs: number;
}

/** `logs` is the attempt's NDJSON log: lines `{ts,level,msg,...fields}`, each ending in `\n`. */
export type StepResult =
  | {
      status: 'completed';
      outputs: Record<string, unknown>;
      /** RFC 8785 canonical JSON of `outputs`, and its SHA-256 (the step's `outputsHash`). */
      outputsJson: string;
      outputsHash: string;
      logs: string;
    }
  | { status: 'failed' | 'cancelled' | 'timed_out'; error: StepErrorInfo; logs: string };

export interface PoolStats {
  /** Plugin host processes alive. */
  hosts: number;
  /** Live worker threads in all hosts (poisoned ones excluded), and how many of them are ready. */
  workers: number;
  ready: number;
  /** Workers running at least one step. */
  busy: number;
  /** Steps running, and steps waiting for a free slot. */
  running: number;
  queued: number;
  /** live workers × perWorkerConcurrency. */
  capacity: number;
  /** Workers replaced since start (crashed, or abandoned after an abort grace). */
  replaced: number;
}

/** The built-in that runs no code (CONTRACT §9): the scheduler completes its steps itself. */
export const NOOP: BuiltinName = 'noop';

const EMPTY_OUTPUTS = encodeOutputs({});
/** What a noop attempt gives: outputs `{}`, no logs (as a worker thread reports it). */
export const NOOP_RESULT: StepResult = Object.freeze({
  status: 'completed', outputs: Object.freeze({}), outputsJson: EMPTY_OUTPUTS.json, outputsHash: EMPTY_OUTPUTS.hash, logs: '',
});

export function failedResult(code: string, message: string, retryable: boolean, logs = ''): StepResult {
  return { status: 'failed', error: { code, message, retryable }, logs };
}

/** The result of a step ended by an abort, whatever the step itself reported. */
export function abortResult(reason: AbortReason, timeoutMs: number, logs: string): StepResult {
  return reason === 'timeout'
    ? {
        status: 'timed_out',
        error: { code: 'STEP_TIMEOUT', message: `step exceeded its timeout of ${timeoutMs} ms`, retryable: true },
        logs,
      }
    : { status: 'cancelled', error: { code: 'CANCELLED', message: 'step cancelled', retryable: false }, logs };
}

/** Maps an ArtifactIO failure to what the step sees (no paths or internals). */
export function artifactIoError(err: unknown): StepErrorInfo {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL' || code === 'INSUFFICIENT_STORAGE') {
    return { code: 'INSUFFICIENT_STORAGE', message: 'artifact storage is full', retryable: true };
  }
  if (code === 'NOT_FOUND') return { code: 'ARTIFACT_NOT_FOUND', message: 'artifact not found', retryable: false };
  return { code: 'ARTIFACT_IO_FAILED', message: 'artifact storage failed', retryable: true };
}

export function systemLogLine(msg: string, fields?: Record<string, unknown>): string {
  return formatLogLine('error', msg, { source: 'engine', ...fields });
}

export type PoolSettings = Required<Omit<WorkerPoolOptions, 'resourceLimits' | 'onWorkerLost'>> &
  Pick<WorkerPoolOptions, 'resourceLimits' | 'onWorkerLost'>;

/**
 * How long a step may take to stop after its abort (cancel, timeout) before its worker is
 * replaced: the contract's "failed (or cancelled) within timeout + 5 s whether or not its code
 * cooperates". A fixed limit, not a setting (tests pass shorter ones).
 */
export const ABORT_GRACE_MS = 5000;

/**
 * The settings checked and copied (the caller's lists are not shared); refuses a relative exec
 * allow-list entry. Every operational setting comes from the caller (the server's from
 * `cli/config.ts`); only wiring (callbacks, empty lists) has a fallback here.
 */
export function poolSettings(o: WorkerPoolOptions): PoolSettings {
  const execAllow = [...(o.execAllow ?? [])];
  for (const p of execAllow) if (!isAbsolute(p)) throw new Error(`execAllow entries must be absolute paths: ${p}`);
  for (const n of o.execEnvAllow ?? []) {
    const why = ENV_NAME_RE.test(n) ? refusedEnvReason(n) : 'not a variable name';
    if (why) throw new Error(`execEnvAllow: ${n} is always refused (${why})`);
  }
  for (const n of o.pluginEnv ?? []) {
    const why = ENV_NAME_RE.test(n) ? pluginEnvRefusal(n) : 'not a variable name';
    if (why) throw new Error(`pluginEnv: ${n} cannot be passed to plugin hosts (${why})`);
  }
  return {
    registry: o.registry,
    artifacts: o.artifacts,
    size: Math.max(1, o.size),
    perWorkerConcurrency: Math.max(1, o.perWorkerConcurrency),
    execAllow,
    execEnvAllow: [...(o.execEnvAllow ?? [])],
    workDir: o.workDir,
    ownsWorkDir: o.ownsWorkDir ?? false,
    pluginUser: o.pluginUser,
    pluginEnv: [...(o.pluginEnv ?? [])],
    pluginNetwork: [...(o.pluginNetwork ?? [])],
    sharedPlugins: o.sharedPlugins ?? (() => o.registry.list().filter((p) => p.owner === null)),
    maxHosts: Math.max(1, o.maxHosts),
    hostIdleMs: Math.max(100, o.hostIdleMs),
    warn: o.warn ?? ((message, fields) => void process.stderr.write(`${JSON.stringify({ level: 'warn', msg: message, ...fields })}\n`)),
    abortGraceMs: o.abortGraceMs,
    maxOutputBytes: o.maxOutputBytes,
    maxLogBytes: o.maxLogBytes,
    workerOutput: o.workerOutput ?? ((chunk) => void process.stderr.write(chunk)),
    resourceLimits: o.resourceLimits,
    onWorkerLost: o.onWorkerLost,
  };
}

/** What a plugin may do, as granted: its declared capabilities within what the operator allows. */
export function grantedProfile(p: ResolvedPlugin, o: Pick<PoolSettings, 'execAllow' | 'pluginNetwork'>): { childProcess: boolean; network: boolean } {
  if (p.builtin) return { childProcess: p.name === 'exec', network: false };
  const exec = p.capabilities.exec;
  return {
    childProcess: exec.length > 0 && exec.every((x) => o.execAllow.includes(resolve(x))),
    network: p.capabilities.network && (o.pluginNetwork.includes('*') || o.pluginNetwork.includes(p.name)),
  };
}

/** The detail (which may name server paths) is in start()'s rejection and the server log. */
export function startFailedResult(): StepResult {
  return failedResult('WORKER_START_FAILED', 'worker threads fail to start (see the server log)', true);
}

/** A plugin that could not be copied for its host: the stage's own StepError, else a generic one. */
export function stagingError(err: unknown, ref: string): StepErrorInfo {
  if (err instanceof StepError) return toStepErrorInfo(err);
  return { code: 'PLUGIN_LOAD_FAILED', message: `plugin ${ref} could not be prepared for its host (see the server log)`, retryable: true };
}
