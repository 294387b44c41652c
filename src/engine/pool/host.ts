/**
 * A plugin-host process: the program started in host mode (`orchestrator __plugin-host`, see
 * src/main.ts) by the server's pool, inside the sandbox of `sandbox.ts` (its own user, empty
 * environment, Node's permission model, namespaces). It runs no plugin code itself: it starts
 * worker threads when told, relays step messages between them and the server (batched per
 * event-loop turn, both ways), and reports how threads end. The server decides everything
 * else (dispatch, timeouts, replacement).
 *
 * It exits when the server says so, when the IPC channel closes (the server died), or when it
 * is killed — as PID 1 of its own PID namespace where the server could arrange that, taking
 * every process started under it along.
 */
import { spawnSync } from 'node:child_process';
import type { Worker } from 'node:worker_threads';
import { workerSpec } from '../../core/runtime.js';
import {
  Batcher,
  decodeBytes,
  encodeBytes,
  messagesOf,
  FromHost,
  ToHost,
  serializeError,
  type Envelope,
  type HostToServer,
  type InitMessage,
  type ServerToHost,
} from './host-protocol.js';
import { lockWorkerThreads } from './lockdown.js';
import { ToWorker, type WorkerConfig, type WorkerToMain } from './protocol.js';

/** How long threads get to end their steps (killing exec children) at shutdown. */
const SHUTDOWN_GRACE_MS = 1000;

/** Whether the exec containment wrapper works here (user + PID namespaces may be refused). */
function probeExecWrapper(probe: InitMessage['execProbe']): string[] | null {
  if (!probe) return null;
  try {
    const r = spawnSync(probe.wrapper[0]!, [...probe.wrapper.slice(1), probe.trueProgram], { stdio: 'ignore', timeout: 10_000, env: {} });
    return r.status === 0 ? probe.wrapper : null;
  } catch {
    return null;
  }
}

export function runPluginHost(): void {
  if (typeof process.send !== 'function') {
    process.stderr.write('the plugin host runs only as a child of the orchestrator server\n');
    process.exit(2);
  }
  const RealWorker = lockWorkerThreads();
  const send = process.send.bind(process);
  const out = new Batcher<HostToServer>((env) => {
    try {
      send({ b: env.b.map(encodeBytes) });
    } catch {
      process.exit(0); // the channel is gone: so is the server
    }
  });
  const threads = new Map<number, Worker>();
  let init: InitMessage | null = null;
  let config: WorkerConfig | null = null;
  let closing = false;

  const exit = (): void => {
    out.flush();
    process.exit(0);
  };
  /** Threads abort their steps (which kills exec children) and end; then the host exits. */
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    if (threads.size === 0) return exit();
    for (const t of threads.values()) t.postMessage({ cmd: ToWorker.Shutdown });
    setTimeout(exit, SHUTDOWN_GRACE_MS).unref();
  };

  const spawnThread = (w: number): void => {
    const spec = workerSpec();
    const thread = new RealWorker(spec.filename, {
      ...spec.options,
      workerData: config,
      resourceLimits: init?.resourceLimits,
    });
    threads.set(w, thread);
    thread.on('message', (m: WorkerToMain) => out.push({ cmd: FromHost.Worker, w, m }));
    thread.on('error', (e) => out.push({ cmd: FromHost.WorkerError, w, error: serializeError(e) }));
    thread.on('exit', (code) => {
      threads.delete(w);
      out.push({ cmd: FromHost.WorkerExit, w, code });
      if (closing && threads.size === 0) exit();
    });
  };

  const handle = (m: ServerToHost): void => {
    switch (m.cmd) {
      case ToHost.Init: {
        init = m;
        config = { ...m.worker, execWrapper: probeExecWrapper(m.execProbe) };
        out.push({ cmd: FromHost.Ready, execWrapper: config.execWrapper });
        return;
      }
      case ToHost.Spawn:
        if (config && !closing && !threads.has(m.w)) spawnThread(m.w);
        return;
      case ToHost.Worker: {
        const t = threads.get(m.w);
        if (!t) return;
        const bytes = 'bytes' in m.m ? (m.m as { bytes?: Uint8Array }).bytes : undefined;
        // Deserialised bytes own their buffer: hand it over instead of copying it again.
        const whole = bytes && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
        try {
          t.postMessage(m.m, whole ? [bytes.buffer as ArrayBuffer] : undefined);
        } catch {
          /* the thread is exiting; its exit is reported */
        }
        return;
      }
      case ToHost.Terminate: {
        const t = threads.get(m.w);
        if (t) void t.terminate().catch(() => undefined);
        return;
      }
      case ToHost.Shutdown:
        shutdown();
    }
  };

  process.on('message', (env: unknown) => {
    for (const m of messagesOf<ServerToHost>(env)) handle(decodeBytes(m));
  });
  process.on('disconnect', shutdown);
}
