/**
 * The typed message protocol between the main thread and the step workers (BullMQ style: a
 * command enum and one envelope per message). Messages are small: ids, inputs and outputs,
 * never run records. Shared by `pool.ts` (main thread) and `worker.ts` (worker threads).
 *
 * @example
 * const run: RunMessage = { cmd: ToWorker.Run, taskId: 1, plugin: { name: 'noop', version: '0.1.0', builtin: true },
 *   inputs: {}, tenant: 'demo', runId, stepId: 'a', attempt: 1, timeoutMs: 60_000 };
 * worker.postMessage(run);
 */
import type { StepError, StepErrorInfo } from './step-errors.js';

export { checkedErrorInfo, normalizeErrorCode, StepError, toStepErrorInfo, type StepErrorInfo } from './step-errors.js';

/** Commands sent by the main thread to a worker. */
export enum ToWorker {
  Run = 1,
  Abort = 2,
  ArtifactReply = 3,
  Shutdown = 4,
  /** A chunk of an artifact stream was written (or failed): the worker may send more. */
  ArtifactAck = 5,
}

/** Commands sent by a worker to the main thread. */
export enum FromWorker {
  Ready = 10,
  Done = 11,
  Failed = 12,
  Log = 13,
  WriteArtifact = 14,
  ReadArtifact = 15,
  Heartbeat = 16,
  /** Streaming artifact writes (exec stdout, large `writeArtifact`): bounded memory end to end. */
  ArtifactChunk = 17,
  ArtifactEnd = 18,
  ArtifactAbort = 19,
}

/**
 * A worker with steps running posts a heartbeat this often (an idle one is silent). One whose steps are running but who has been silent
 * for {@link STALL_MS} has a blocked event loop (a busy loop, `Atomics.wait`, a long sync
 * call): the pool gives it no new steps until it is heard from again.
 */
export const HEARTBEAT_MS = 250;
export const STALL_MS = 1000;

/** What a worker needs to find a plugin's code: built-in (in the worker bundle) or a module URL. */
export type PluginRef =
  | { name: string; version: string; builtin: true }
  | { name: string; version: string; builtin?: false; entryUrl: string };

export type AbortReason = 'cancel' | 'timeout';

export interface RunMessage {
  cmd: ToWorker.Run;
  taskId: number;
  plugin: PluginRef;
  inputs: Record<string, unknown>;
  tenant: string;
  runId: string;
  stepId: string;
  attempt: number;
  timeoutMs: number;
}
export interface AbortMessage {
  cmd: ToWorker.Abort;
  taskId: number;
  reason: AbortReason;
}
/** Answer to a WriteArtifact (`hash`) or ReadArtifact (`bytes`, transferred) request. */
export interface ArtifactReplyMessage {
  cmd: ToWorker.ArtifactReply;
  reqId: number;
  hash?: string;
  bytes?: Uint8Array;
  error?: StepErrorInfo;
}
export interface ShutdownMessage {
  cmd: ToWorker.Shutdown;
}
/** `bytes` of stream `streamId` are on disk (or `error`: the stream is dead, stop sending). */
export interface ArtifactAckMessage {
  cmd: ToWorker.ArtifactAck;
  streamId: number;
  bytes: number;
  error?: StepErrorInfo;
}
export type MainToWorker = RunMessage | AbortMessage | ArtifactReplyMessage | ShutdownMessage | ArtifactAckMessage;

export interface ReadyMessage {
  cmd: FromWorker.Ready;
}
/**
 * A step completed. Outputs travel as their RFC 8785 canonical JSON (validated and sized in the
 * worker), with its SHA-256, so the main thread never re-canonicalises them.
 */
export interface DoneMessage {
  cmd: FromWorker.Done;
  taskId: number;
  outputsJson: string;
  outputsHash: string;
  /** NDJSON log lines not yet sent by a Log message. */
  logs: string;
}
export interface FailedMessage {
  cmd: FromWorker.Failed;
  taskId: number;
  error: StepErrorInfo;
  logs: string;
}
/** Log lines of a long-running step, flushed periodically (NDJSON, each line ends with \n). */
export interface LogMessage {
  cmd: FromWorker.Log;
  taskId: number;
  lines: string;
}
export interface WriteArtifactMessage {
  cmd: FromWorker.WriteArtifact;
  reqId: number;
  taskId: number;
  bytes: Uint8Array;
  mediaType: string;
}
export interface ReadArtifactMessage {
  cmd: FromWorker.ReadArtifact;
  reqId: number;
  taskId: number;
  hash: string;
}
/**
 * One chunk of a streaming artifact write. Stream ids are the worker's own (unique per worker
 * thread); the main thread opens the stream on its first chunk and acknowledges each one.
 */
export interface ArtifactChunkMessage {
  cmd: FromWorker.ArtifactChunk;
  taskId: number;
  streamId: number;
  bytes: Uint8Array;
}
/** Commits a stream (after its chunks): answered by an ArtifactReply with the hash. */
export interface ArtifactEndMessage {
  cmd: FromWorker.ArtifactEnd;
  reqId: number;
  taskId: number;
  streamId: number;
  mediaType: string;
}
/** Drops a stream (its step failed or was aborted). */
export interface ArtifactAbortMessage {
  cmd: FromWorker.ArtifactAbort;
  taskId: number;
  streamId: number;
}
/** "My event loop turns" (see {@link HEARTBEAT_MS}). */
export interface HeartbeatMessage {
  cmd: FromWorker.Heartbeat;
}
export type WorkerToMain =
  | HeartbeatMessage
  | ReadyMessage
  | DoneMessage
  | FailedMessage
  | LogMessage
  | WriteArtifactMessage
  | ReadArtifactMessage
  | ArtifactChunkMessage
  | ArtifactEndMessage
  | ArtifactAbortMessage;

/** Configuration handed to every worker as `workerData`. */
export interface WorkerConfig {
  concurrency: number;
  execAllow: string[];
  /** Variable names an exec step may set in `with.env` (the refused list always wins). */
  execEnvAllow: string[];
  /**
   * The argv prefix that makes an exec program PID 1 of its own PID namespace (so everything
   * it starts dies with it), or null where that is not available (process groups instead).
   */
  execWrapper: string[] | null;
  /** The host's own work folder; exec attempts get `<workDir>/<runId>/<stepId>/<attempt>`. */
  workDir: string;
  maxOutputBytes: number;
  maxLogBytes: number;
}

/**
 * Whether an artifact's media type is acceptable: 1..255 characters, no control characters.
 * Checked in the worker (the step's error) and again on the server (a host is not trusted).
 *
 * @example validMediaType('text/plain') // true
 */
export function validMediaType(t: unknown): t is string {
  return typeof t === 'string' && t.length > 0 && t.length <= 255 && !/[\x00-\x1f\x7f]/.test(t);
}

/** One NDJSON log line `{ts, level, msg, ...fields}` (reserved keys in `fields` are ignored). */
export function formatLogLine(
  level: 'debug' | 'info' | 'warn' | 'error',
  msg: string,
  fields?: Record<string, unknown>,
  now: number = Date.now(),
): string {
  const rec: Record<string, unknown> = { ts: new Date(now).toISOString(), level, msg };
  if (fields) {
    for (const [k, v] of Object.entries(fields)) {
      if (k !== 'ts' && k !== 'level' && k !== 'msg') rec[k] = v;
    }
  }
  try {
    return `${JSON.stringify(rec)}\n`;
  } catch {
    return `${JSON.stringify({ ts: rec.ts, level, msg, fieldsError: 'fields not serialisable' })}\n`;
  }
}

/**
 * What a plugin's default export receives (CONTRACT §9).
 *
 * @example
 * export default async (ctx: StepContext) => {
 *   ctx.log('fetching', { image: ctx.inputs.image });
 *   const hash = await ctx.writeArtifact('report', 'text/plain');
 *   if (ctx.signal.aborted) ctx.fail('ABORTED', 'stopped', { retryable: false });
 *   return { report: hash };
 * };
 */
export interface StepContext {
  /** The step's `with`, references resolved. */
  readonly inputs: Record<string, unknown>;
  readonly tenant: string;
  readonly runId: string;
  readonly stepId: string;
  readonly attempt: number;
  /** Aborted on cancel or timeout; `signal.reason` is a StepError (`CANCELLED` / `STEP_TIMEOUT`). */
  readonly signal: AbortSignal;
  /** Appends `{ts, level, msg, ...fields}` to the attempt's log; `fields.level` may be debug|info|warn|error. */
  log(message: string, fields?: Record<string, unknown>): void;
  /** Stores bytes (strings as UTF-8) as an artifact of the run's tenant; resolves to its hash. */
  writeArtifact(data: Uint8Array | string, mediaType?: string): Promise<string>;
  /** Reads an artifact of the tenant; rejects with StepError `ARTIFACT_NOT_FOUND` (not retryable). */
  readArtifact(hash: string): Promise<Uint8Array>;
  /** Throws a StepError (default retryable: true). */
  fail(code: string, message?: string, options?: { retryable?: boolean }): never;
  readonly StepError: typeof StepError;
}
