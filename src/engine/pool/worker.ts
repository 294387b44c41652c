/**
 * Worker thread entry: runs steps for the pool (see `pool.ts`), several at a time. Plugins
 * are imported lazily, once per entry URL; built-ins are imported statically so every bundle
 * carries them. Artifact I/O goes through the main thread by message. Started by the pool via
 * `workerSpec()` (src/core/runtime.ts), never directly.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { coerceError } from '../../core/errors.js';
import { BUILTINS, type BuiltinHost } from '../builtins/index.js';
import type { BuiltinName } from '../builtins/names.js';
import { lockWorkerThreads } from './lockdown.js';
import { encodeOutputs } from './outputs.js';
import {
  FromWorker,
  HEARTBEAT_MS,
  StepError,
  ToWorker,
  formatLogLine,
  toStepErrorInfo,
  validMediaType,
  type DoneMessage,
  type FailedMessage,
  type MainToWorker,
  type PluginRef,
  type RunMessage,
  type StepContext,
  type WorkerConfig,
  type WorkerToMain,
} from './protocol.js';
import { WorkerArtifacts } from './worker-artifacts.js';

type PluginFn = (ctx: StepContext, t: TaskState) => unknown;

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
// Before any plugin code loads: a plugin may not start threads of its own (a Worker started
// with `execArgv: []` would run outside Node's permission model; see docs/SECURITY.md).
lockWorkerThreads();
const cfg = workerData as WorkerConfig;
const host: BuiltinHost = Object.freeze({
  execAllow: Object.freeze([...cfg.execAllow]),
  execEnvAllow: Object.freeze([...cfg.execEnvAllow]),
  execWrapper: cfg.execWrapper ? Object.freeze([...cfg.execWrapper]) : null,
  workDir: cfg.workDir,
});
const HASH_RE = /^[0-9a-f]{64}$/;
const LOG_FLUSH_MS = 100;
const LOG_FLUSH_BYTES = 32 * 1024;
const LEVELS = new Set(['debug', 'info', 'warn', 'error']);

interface TaskState {
  readonly id: number;
  readonly ac: AbortController;
  pending: string;
  logBytes: number;
  truncated: boolean;
  ended: boolean;
}

const tasks = new Map<number, TaskState>();
const modules = new Map<string, Promise<PluginFn>>();
let flushTimer: NodeJS.Timeout | null = null;

/**
 * Proof of a turning event loop while steps run: a step that blocks this thread silences it
 * (pool: STALL_MS). An idle thread stays silent, so an idle server is not woken 4 times a second
 * per thread (the pool counts a thread's silence from the step it gives it).
 */
const beats = {
  timer: undefined as NodeJS.Timeout | undefined,
  start(): void {
    this.timer ??= setInterval(() => post({ cmd: FromWorker.Heartbeat }), HEARTBEAT_MS).unref();
  },
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  },
};

function post(msg: WorkerToMain, transfer?: ArrayBuffer[]): void {
  port!.postMessage(msg, transfer);
}
const artifacts = new WorkerArtifacts(post);

// ---- logs: batched into Done/Failed; a long step flushes every 100 ms or 32 KiB ----

function appendLog(t: TaskState, line: string): void {
  if (t.ended || t.truncated) return;
  if (t.logBytes + line.length > cfg.maxLogBytes) {
    t.truncated = true;
    t.pending += formatLogLine('warn', `log truncated at ${cfg.maxLogBytes} bytes`);
    return;
  }
  t.logBytes += line.length;
  t.pending += line;
  if (t.pending.length >= LOG_FLUSH_BYTES) flushTask(t);
  else flushTimer ??= setTimeout(flushAll, LOG_FLUSH_MS);
}

function flushTask(t: TaskState): void {
  if (t.pending.length === 0) return;
  post({ cmd: FromWorker.Log, taskId: t.id, lines: t.pending });
  t.pending = '';
}

function flushAll(): void {
  flushTimer = null;
  for (const t of tasks.values()) flushTask(t);
}

// ---- plugins ----

function loadPlugin(ref: PluginRef): PluginFn | Promise<PluginFn> {
  if (ref.builtin) {
    const fn = BUILTINS[ref.name as BuiltinName];
    if (!fn) throw new StepError('PLUGIN_NOT_FOUND', `no built-in plugin ${ref.name}`, { retryable: false });
    return (ctx, t) => fn({ ...ctx, host, openArtifact: () => artifacts.open(t.id) });
  }
  let p = modules.get(ref.entryUrl);
  if (!p) {
    const label = `${ref.name}@${ref.version}`;
    p = import(ref.entryUrl).then(
      (mod: { default?: unknown }) => {
        if (typeof mod.default !== 'function') {
          throw new StepError('PLUGIN_INVALID', `plugin ${label}: default export is not a function`, { retryable: false });
        }
        return mod.default as PluginFn;
      },
      (e: unknown) => {
        const err = coerceError(e);
        // Full detail (may hold server paths) for the operator only, not for the step record.
        console.error(JSON.stringify({ level: 'error', msg: 'plugin failed to load', plugin: label, error: err.message }));
        throw new StepError('PLUGIN_LOAD_FAILED', `plugin ${label} failed to load (${err.name})`, { retryable: false });
      },
    );
    modules.set(ref.entryUrl, p);
    p.catch(() => modules.delete(ref.entryUrl));
  }
  return p;
}

function makeContext(msg: RunMessage, t: TaskState): StepContext {
  const ended = (): never => {
    throw new StepError('TASK_ENDED', 'the step has already ended', { retryable: false });
  };
  return Object.freeze({
    inputs: msg.inputs,
    tenant: msg.tenant,
    runId: msg.runId,
    stepId: msg.stepId,
    attempt: msg.attempt,
    signal: t.ac.signal,
    StepError,
    log(message: string, fields?: Record<string, unknown>): void {
      const level = fields && LEVELS.has(fields.level as string) ? (fields.level as 'info') : 'info';
      appendLog(t, formatLogLine(level, String(message), fields));
    },
    async writeArtifact(data: Uint8Array | string, mediaType?: string): Promise<string> {
      if (t.ended) ended();
      if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
        throw new StepError('ARTIFACT_INVALID', 'writeArtifact takes a string or a Uint8Array', { retryable: false });
      }
      const type = mediaType ?? (typeof data === 'string' ? 'text/plain' : 'application/octet-stream');
      if (!validMediaType(type)) {
        throw new StepError('ARTIFACT_INVALID', 'mediaType must be a short printable string', { retryable: false });
      }
      return artifacts.write(t.id, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, type);
    },
    async readArtifact(hash: string): Promise<Uint8Array> {
      if (t.ended) ended();
      const h = typeof hash === 'string' && hash.startsWith('sha256:') ? hash.slice(7) : hash;
      if (typeof h !== 'string' || !HASH_RE.test(h)) {
        throw new StepError('ARTIFACT_NOT_FOUND', 'artifact not found', { retryable: false });
      }
      const reply = await artifacts.request({ cmd: FromWorker.ReadArtifact, taskId: t.id, hash: h });
      const b = reply.bytes!;
      return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    },
    fail(code: string, message?: string, options?: { retryable?: boolean }): never {
      throw new StepError(code, message, options);
    },
  });
}

function finish(t: TaskState, msg: DoneMessage | FailedMessage): void {
  if (msg.cmd === FromWorker.Failed && !t.ac.signal.aborted) {
    appendLog(t, formatLogLine('error', 'step failed', { code: msg.error.code, error: msg.error.message }));
  }
  t.ended = true;
  tasks.delete(t.id);
  if (tasks.size === 0) beats.stop();
  msg.logs = t.pending;
  t.pending = '';
  post(msg);
}

async function runTask(msg: RunMessage): Promise<void> {
  const t: TaskState = { id: msg.taskId, ac: new AbortController(), pending: '', logBytes: 0, truncated: false, ended: false };
  tasks.set(t.id, t);
  beats.start();
  try {
    const fn = await loadPlugin(msg.plugin);
    const out = await fn(makeContext(msg, t), t);
    const { json, hash } = encodeOutputs(out, cfg.maxOutputBytes);
    finish(t, { cmd: FromWorker.Done, taskId: t.id, outputsJson: json, outputsHash: hash, logs: '' });
  } catch (e) {
    finish(t, { cmd: FromWorker.Failed, taskId: t.id, error: toStepErrorInfo(e), logs: '' });
  }
}

function abortTask(taskId: number, reason: 'cancel' | 'timeout'): void {
  const t = tasks.get(taskId);
  if (!t || t.ac.signal.aborted) return;
  const err =
    reason === 'timeout'
      ? new StepError('STEP_TIMEOUT', 'step timed out', { retryable: true })
      : new StepError('CANCELLED', 'step cancelled', { retryable: false });
  appendLog(t, formatLogLine('warn', reason === 'timeout' ? 'timeout reached, aborting' : 'cancel requested, aborting'));
  t.ac.abort(err);
  flushTask(t); // the step may never end: let its last lines reach the main thread now
}

port.on('message', (msg: MainToWorker) => {
  switch (msg.cmd) {
    case ToWorker.Run:
      void runTask(msg);
      break;
    case ToWorker.Abort:
      abortTask(msg.taskId, msg.reason);
      break;
    case ToWorker.ArtifactReply:
      artifacts.onReply(msg);
      break;
    case ToWorker.ArtifactAck:
      artifacts.onAck(msg);
      break;
    case ToWorker.Shutdown:
      for (const id of [...tasks.keys()]) abortTask(id, 'cancel'); // kills exec children
      flushAll();
      setImmediate(() => process.exit(0));
      break;
  }
});

// A plugin's stray rejected promise must not take the other steps of this worker down with it.
process.on('unhandledRejection', (reason) => {
  let error = '(unreadable)';
  try {
    error = String(coerceError(reason).message);
  } catch {
    /* an Error whose message getter throws: keep the placeholder */
  }
  console.error(JSON.stringify({ level: 'warn', msg: 'unhandled rejection in a plugin', error }));
});

post({ cmd: FromWorker.Ready });
