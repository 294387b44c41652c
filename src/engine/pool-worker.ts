/**
 * One worker thread of the pool, seen from the main thread: spawning it (through
 * `workerSpec()`), posting to it safely, answering its artifact requests, and describing how
 * it died. The pool's policy (dispatch, timeouts, replacement) stays in `pool.ts`.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { workerSpec } from '../core/runtime.js';
import {
  FromWorker,
  ToWorker,
  type MainToWorker,
  type ReadArtifactMessage,
  type WorkerConfig,
  type WorkerToMain,
  type WriteArtifactMessage,
} from './protocol.js';
import { artifactIoError, type ArtifactIO, type TaskMeta } from './pool-types.js';

export interface Slot<E> {
  readonly id: number;
  readonly thread: Worker;
  ready: boolean;
  /** Out of service for good (crashed, abandoned or shut down): never posted to again. */
  dead: boolean;
  lastError?: Error;
  /** When a message (any, heartbeats included) last came from it (performance.now()). */
  lastSeen: number;
  /** Steps running on it, by wire task id. */
  readonly inflight: Map<number, E>;
}

export interface SpawnOptions {
  config: WorkerConfig;
  resourceLimits?: ResourceLimits;
  output: (chunk: string, stream: 'stdout' | 'stderr') => void;
  onMessage: (m: WorkerToMain) => void;
  onExit: (code: number) => void;
}

/** Starts a worker thread; its stdout/stderr (plugins' console output) go to `output`. */
export function spawnSlot<E>(id: number, o: SpawnOptions): Slot<E> {
  const spec = workerSpec();
  const thread = new Worker(spec.filename, {
    ...spec.options,
    workerData: o.config,
    resourceLimits: o.resourceLimits,
    stdout: true,
    stderr: true,
  });
  const slot: Slot<E> = { id, thread, ready: false, dead: false, lastSeen: performance.now(), inflight: new Map() };
  thread.stdout.setEncoding('utf8').on('data', (c: string) => o.output(c, 'stdout'));
  thread.stderr.setEncoding('utf8').on('data', (c: string) => o.output(c, 'stderr'));
  thread.on('message', o.onMessage);
  thread.on('error', (err) => (slot.lastError = err));
  thread.on('exit', o.onExit);
  return slot;
}

export function postTo(slot: Slot<unknown>, msg: MainToWorker, transfer?: ArrayBuffer[]): void {
  if (slot.dead) return;
  try {
    slot.thread.postMessage(msg, transfer);
  } catch {
    /* the worker is exiting; its exit handler fails its steps */
  }
}

/** Ends a thread without waiting for it: a thread stuck in a syscall may never die. */
export function discard(slot: Slot<unknown>): void {
  slot.dead = true;
  slot.thread.unref();
  void slot.thread.terminate().catch(() => undefined);
}

/** A step-safe summary of why a worker died (no paths: it becomes the steps' error message). */
export function describeExit(slot: Slot<unknown>, code: number): string {
  if ((slot.lastError as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return 'worker thread ran out of memory';
  }
  return slot.lastError ? `worker thread crashed (${slot.lastError.name})` : `worker thread exited with code ${code}`;
}

/**
 * Answers a step's WriteArtifact/ReadArtifact through the ArtifactIO. `meta` is undefined when
 * the step has already ended: late requests are refused (TASK_ENDED).
 */
export async function answerArtifactRequest(
  slot: Slot<unknown>,
  m: WriteArtifactMessage | ReadArtifactMessage,
  meta: TaskMeta | undefined,
  io: ArtifactIO,
): Promise<void> {
  const reply = { cmd: ToWorker.ArtifactReply, reqId: m.reqId } as const;
  if (!meta) {
    return postTo(slot, { ...reply, error: { code: 'TASK_ENDED', message: 'the step has already ended', retryable: false } });
  }
  try {
    if (m.cmd === FromWorker.WriteArtifact) {
      return postTo(slot, { ...reply, hash: await io.write(meta, m.bytes, m.mediaType) });
    }
    const found = await io.read(meta, m.hash);
    if (!found) throw Object.assign(new Error('not found'), { code: 'NOT_FOUND' });
    // A private exact-size copy to transfer (`found` may be a view into a larger buffer).
    const bytes = new Uint8Array(found.byteLength);
    bytes.set(found);
    postTo(slot, { ...reply, bytes }, [bytes.buffer as ArrayBuffer]);
  } catch (err) {
    postTo(slot, { ...reply, error: artifactIoError(err) });
  }
}
