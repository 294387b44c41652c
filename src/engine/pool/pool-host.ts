/**
 * One plugin-host process seen from the server: starting it (command line from the sandbox),
 * the batched IPC channel to it, its worker threads (`Slot`s, each running several steps),
 * and killing it. The pool's policy (which host, dispatch, timeouts, replacement, idling)
 * stays in `pool.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { ResourceLimits } from 'node:worker_threads';
import type { HostRuntime } from '../../core/runtime.js';
import { Batcher, decodeBytes, encodeBytes, FromHost, messagesOf, ToHost, type HostToServer, type SerializedError, type ServerToHost } from './host-protocol.js';
import { STALL_MS, type MainToWorker, type WorkerConfig } from './protocol.js';
import type { Sandbox } from './sandbox.js';

/** What a host may do: start programs (the `exec` built-in), reach the network. */
export interface Profile {
  childProcess: boolean;
  network: boolean;
}

/** One worker thread inside a host. */
export interface Slot<E> {
  readonly id: number;
  readonly host: PluginHost<E>;
  ready: boolean;
  /** Out of service for good (crashed, abandoned or shut down): never posted to again. */
  dead: boolean;
  lastError?: SerializedError;
  /** When a message (any, heartbeats included) last came from it (performance.now()). */
  lastSeen: number;
  /** Steps running on it, by wire task id. */
  readonly inflight: Map<number, E>;
}

export interface HostSpawn<E> {
  id: number;
  /** `tenant + profile`, or null for a spare host not yet given to a tenant. */
  key: string | null;
  tenant: string | null;
  profile: Profile;
  /** Hashes of the folder plugins it may read. */
  plugins: ReadonlySet<string>;
  workDir: string;
  readPaths: string[];
  runtime: HostRuntime;
  sandbox: Sandbox;
  worker: Omit<WorkerConfig, 'workDir' | 'execWrapper'>;
  resourceLimits?: ResourceLimits;
  output: (chunk: string, stream: 'stdout' | 'stderr') => void;
  onMessage: (host: PluginHost<E>, m: HostToServer) => void;
  onExit: (host: PluginHost<E>, why: string) => void;
}

export class PluginHost<E> {
  readonly id: number;
  key: string | null;
  tenant: string | null;
  readonly profile: Profile;
  readonly plugins: ReadonlySet<string>;
  readonly workDir: string;
  /** starting → ready (answered Init) → draining (no new steps) → dead. */
  state: 'starting' | 'ready' | 'draining' | 'dead' = 'starting';
  readonly slots: Slot<E>[] = [];
  /** When it last had a step (performance.now()); for idle retirement. */
  lastActive = performance.now();
  /** Threads that became ready in this host (a host that never got one failed to start). */
  readyThreads = 0;
  private readonly proc: ChildProcess;
  private readonly out: Batcher<ServerToHost>;
  private stderrTail = '';

  constructor(s: HostSpawn<E>) {
    this.id = s.id;
    this.key = s.key;
    this.tenant = s.tenant;
    this.profile = s.profile;
    this.plugins = s.plugins;
    this.workDir = s.workDir;
    const launch = { readPaths: s.readPaths, workDir: s.workDir, childProcess: s.profile.childProcess, network: s.profile.network };
    const cmd = s.sandbox.hostCommand(s.runtime, launch);
    this.proc = spawn(cmd.file, cmd.args, {
      env: cmd.env,
      cwd: s.workDir,
      uid: cmd.uid,
      gid: cmd.gid,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json', // artifact bytes as base64: host-protocol.ts
      // Its own process group: abandoning the host kills everything in it.
      detached: true,
    });
    this.out = new Batcher<ServerToHost>((env) => {
      if (!this.proc.connected) return;
      try {
        this.proc.send({ b: env.b.map(encodeBytes) });
      } catch {
        /* exiting: the exit handler fails its steps */
      }
    }, queueMicrotask);
    this.proc.stdout!.setEncoding('utf8').on('data', (c: string) => s.output(c, 'stdout'));
    this.proc.stderr!.setEncoding('utf8').on('data', (c: string) => {
      this.stderrTail = (this.stderrTail + c).slice(-2000);
      s.output(c, 'stderr');
    });
    this.proc.on('message', (env: unknown) => {
      for (const m of messagesOf<HostToServer>(env)) s.onMessage(this, decodeBytes(m));
    });
    let exited = false;
    const onGone = (why: string): void => {
      if (exited) return;
      exited = true;
      s.onExit(this, why);
    };
    this.proc.on('error', (e) => onGone(`plugin host could not start (${(e as NodeJS.ErrnoException).code ?? e.name})`));
    this.proc.on('exit', (code, signal) => onGone(signal ? `plugin host killed by ${signal}` : `plugin host exited with code ${code}`));
    this.send({ cmd: ToHost.Init, worker: { ...s.worker, workDir: s.workDir, execWrapper: null }, resourceLimits: s.resourceLimits, execProbe: s.profile.childProcess ? s.sandbox.execProbe() : undefined });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** The last lines the host wrote to stderr (for the operator's log when it dies). */
  get lastStderr(): string {
    return this.stderrTail;
  }

  send(m: ServerToHost): void {
    if (this.state !== 'dead') this.out.push(m);
  }

  post(slot: Slot<E>, m: MainToWorker): void {
    if (!slot.dead) this.send({ cmd: ToHost.Worker, w: slot.id, m });
  }

  /** Starts a worker thread in it. */
  addSlot(id: number): Slot<E> {
    const slot: Slot<E> = { id, host: this, ready: false, dead: false, lastSeen: performance.now(), inflight: new Map() };
    this.slots.push(slot);
    this.send({ cmd: ToHost.Spawn, w: id });
    return slot;
  }

  /** Steps running in all its threads. */
  inflight(): number {
    let n = 0;
    for (const s of this.slots) n += s.inflight.size;
    return n;
  }

  /** Asks it to end (threads abort their steps, then the process exits). */
  shutdown(): void {
    this.send({ cmd: ToHost.Shutdown });
    this.out.flush();
  }

  /** SIGKILL to its whole process group (and, in a PID namespace, everything under it). */
  kill(): void {
    const pid = this.proc.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        this.proc.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  /** Resolves when the process has exited (or at once if it has). */
  exited(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.proc.once('exit', () => resolve()));
  }
}

/** A step-safe summary of why a thread died (no paths: it becomes the steps' error message). */
export function describeThreadExit(slot: Slot<unknown>, code: number): string {
  if (slot.lastError?.code === 'ERR_WORKER_OUT_OF_MEMORY') return 'worker thread ran out of memory';
  return slot.lastError ? `worker thread crashed (${slot.lastError.name})` : `worker thread exited with code ${code}`;
}

/** A thread with steps in flight that has been silent past STALL_MS: its event loop is blocked. */
export function stalled(s: Slot<unknown>, now: number): boolean {
  return s.ready && s.inflight.size > 0 && now - s.lastSeen > STALL_MS;
}

/** The ready thread with the fewest steps and room for another; null when none. */
export function leastLoaded<E>(slots: readonly Slot<E>[], perWorkerConcurrency: number): Slot<E> | null {
  let best: Slot<E> | null = null;
  const now = performance.now();
  for (const s of slots) {
    if (!s.ready || s.dead || s.inflight.size >= perWorkerConcurrency) continue;
    // A thread whose event loop is blocked would only hold the step hostage: wait for another.
    if (stalled(s, now)) continue;
    if (!best || s.inflight.size < best.inflight.size) best = s;
  }
  return best;
}

export { FromHost };
