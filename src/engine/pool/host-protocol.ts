/**
 * The typed protocol between the server and a plugin-host process (`host.ts`), over the
 * child-process IPC channel with `serialization: 'json'`: one round trip through a host and its
 * thread measured 112–132 µs with JSON against 211–228 µs with V8's 'advanced' serialisation
 * (79–104 vs 140–166 µs of the server's CPU per message; BENCHMARKS.md). The one binary field,
 * an artifact message's `bytes`, crosses as base64 (`b64`, {@link encodeBytes} /
 * {@link decodeBytes} at both ends). One command enum per direction; every message carries its
 * command. Messages are batched: each side collects what it sends during one turn of its event
 * loop and sends ONE envelope `{ b: [...] }`.
 *
 * The host relays step messages between the server and its worker threads unchanged (the
 * worker protocol of `protocol.ts`, tagged with the thread id `w`); it adds thread life-cycle
 * commands. Errors cross as plain `{name, message, code}` records, never as Error objects.
 *
 * @example
 * channel.send({ cmd: ToHost.Spawn, w: 1 });
 * channel.send({ cmd: ToHost.Worker, w: 1, m: { cmd: ToWorker.Run, … } });
 */
import type { ResourceLimits } from 'node:worker_threads';
import type { MainToWorker, WorkerConfig, WorkerToMain } from './protocol.js';

/** The argv word that starts the program as a plugin host (see src/main.ts). */
export const PLUGIN_HOST_ARG = '__plugin-host';

export enum ToHost {
  /** First message: what every thread of this host gets. */
  Init = 1,
  /** Start worker thread `w`. */
  Spawn = 2,
  /** Relay `m` to thread `w`. */
  Worker = 3,
  /** Terminate thread `w` without waiting (it may be stuck). */
  Terminate = 4,
  /** End every thread and exit. */
  Shutdown = 5,
}

export enum FromHost {
  /** Init done; `execWrapper` tells what exec containment this host found. */
  Ready = 1,
  /** A message of thread `w`. */
  Worker = 2,
  /** Thread `w` raised an error (it exits next). */
  WorkerError = 3,
  /** Thread `w` exited. */
  WorkerExit = 4,
}

export interface InitMessage {
  cmd: ToHost.Init;
  worker: WorkerConfig;
  resourceLimits?: ResourceLimits;
  /**
   * When set (hosts allowed to start programs): the argv prefix to try for exec containment
   * (`unshare --user --pid --fork --kill-child --mount-proc --`) and a program that exits 0 to
   * probe it with. The host keeps it only if the probe succeeds.
   */
  execProbe?: { wrapper: string[]; trueProgram: string };
}
export interface SpawnMessage {
  cmd: ToHost.Spawn;
  w: number;
}
export interface RelayToWorker {
  cmd: ToHost.Worker;
  w: number;
  m: MainToWorker;
}
export interface TerminateMessage {
  cmd: ToHost.Terminate;
  w: number;
}
export interface HostShutdownMessage {
  cmd: ToHost.Shutdown;
}
export type ServerToHost = InitMessage | SpawnMessage | RelayToWorker | TerminateMessage | HostShutdownMessage;

/** An error as it crosses the process boundary. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
}

export interface HostReadyMessage {
  cmd: FromHost.Ready;
  execWrapper: string[] | null;
}
export interface RelayFromWorker {
  cmd: FromHost.Worker;
  w: number;
  m: WorkerToMain;
}
export interface WorkerErrorMessage {
  cmd: FromHost.WorkerError;
  w: number;
  error: SerializedError;
}
export interface WorkerExitMessage {
  cmd: FromHost.WorkerExit;
  w: number;
  code: number;
}
export type HostToServer = HostReadyMessage | RelayFromWorker | WorkerErrorMessage | WorkerExitMessage;

/** What goes over the wire: one batch of messages. */
export interface Envelope<M> {
  b: M[];
}

/** A relayed message whose step message carries artifact bytes. */
type WithBytes = { m?: { bytes?: unknown; b64?: unknown } };

/**
 * Before sending: a relayed message's `bytes` (Uint8Array) becomes `b64` (base64 text). Returns
 * the message itself when it has none (no copy on the hot path).
 */
export function encodeBytes<M>(msg: M): M {
  const inner = (msg as WithBytes).m;
  if (inner === undefined || !(inner.bytes instanceof Uint8Array)) return msg;
  const { bytes, ...rest } = inner as { bytes: Uint8Array };
  return { ...msg, m: { ...rest, b64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') } };
}

/**
 * After receiving: `b64` becomes `bytes` again, a Uint8Array that owns its whole buffer (so the
 * host can transfer it to its thread). Anything else is left as it came: the receivers check
 * shapes themselves (a host is not trusted).
 */
export function decodeBytes<M>(msg: M): M {
  const inner = (msg as WithBytes | null)?.m;
  if (inner === undefined || inner === null || typeof inner.b64 !== 'string') return msg;
  const { b64, ...rest } = inner as { b64: string };
  return { ...msg, m: { ...rest, bytes: new Uint8Array(Buffer.from(b64, 'base64')) } };
}

/** The messages of an envelope, or none when it is not one (a host is not trusted). */
export function messagesOf<M>(env: unknown): M[] {
  const b = (env as { b?: unknown } | null)?.b;
  return Array.isArray(b) ? (b as M[]) : [];
}

/** Plain record of an error (total: a hostile value cannot make it throw). */
export function serializeError(e: unknown): SerializedError {
  try {
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      return { name: String(e.name), message: String(e.message), ...(typeof code === 'string' ? { code } : {}) };
    }
    return { name: 'Error', message: String(e) };
  } catch {
    return { name: 'Error', message: '(an error that cannot be read)' };
  }
}

/**
 * Batches messages into one envelope: by default per event-loop turn (`setImmediate`: the host
 * collects the results its threads post during one turn). The server passes `queueMicrotask`:
 * the steps a commit dispatches are pushed in one synchronous stretch, so they still leave as
 * one envelope, but before anything else the turn does after them (the commit's events written
 * to the streams): a chain's next step reaches its host one socket write sooner.
 *
 * @example
 * const out = new Batcher<HostToServer>((env) => process.send!(env));
 * out.push(msg); // sent with everything else pushed in this turn
 */
export class Batcher<M> {
  private pending: M[] = [];
  private scheduled = false;

  constructor(
    private readonly sendEnvelope: (env: Envelope<M>) => void,
    private readonly schedule: (fn: () => void) => void = setImmediate,
  ) {}

  push(msg: M): void {
    this.pending.push(msg);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const b = this.pending;
    this.pending = [];
    this.sendEnvelope({ b });
  }
}
