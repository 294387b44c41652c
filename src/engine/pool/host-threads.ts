/**
 * The worker threads inside the plugin hosts (`pool-hosts.ts` decides which hosts exist): a
 * host's threads once it is ready, a thread's ready and its messages, a backup for a stalled
 * thread, an idle extra shut down, and a thread abandoned (terminated without waiting; if it
 * does not exit, its host is drained) or exited.
 *
 * @example
 * const threads = new HostThreads(settings, events, { started, startFailed, drain });
 * threads.hostReady(host, null); // starts `size` threads
 */
import { ToHost, type SerializedError } from './host-protocol.js';
import { FromWorker, ToWorker, type WorkerToMain } from './protocol.js';
import { describeThreadExit, stalled, type PluginHost, type Slot } from './pool-host.js';
import type { HostEvents } from './pool-hosts.js';
import type { PoolSettings } from './pool-types.js';

/** A thread told to terminate that has not exited after this long poisons its host. */
const TERMINATE_WAIT_MS = 2000;

/** What the threads tell the host set. */
export interface ThreadOutcomes<E> {
  /** A thread of a host of `key` became ready: the key's start failures are forgotten. */
  started(key: string | null): void;
  /** A thread of a host of `key` failed to start. */
  startFailed(key: string | null, err: Error): void;
  /** The host takes no new steps (retired once idle). */
  drain(h: PluginHost<E>): void;
}

export class HostThreads<E> {
  private readonly terminating = new Map<string, NodeJS.Timeout>();
  private nextSlotId = 1;
  private warnedExec = false;
  /** Threads replaced after they were ready (the pool's stats). */
  replaced = 0;

  constructor(
    private readonly o: PoolSettings,
    private readonly ev: HostEvents<E>,
    private readonly out: ThreadOutcomes<E>,
  ) {}

  /** The host finished its init (`execWrapper`: the exec containment it found): its threads start. */
  hostReady(h: PluginHost<E>, execWrapper: string[] | null): void {
    if (h.state === 'starting') h.state = 'ready';
    if (h.profile.childProcess && !execWrapper && !this.warnedExec) {
      this.warnedExec = true;
      this.o.warn('exec programs run in process groups only (no user namespaces for the plugin user): setsid or double-forked processes escape the per-step kill (docs/SECURITY.md)');
    }
    for (let i = 0; i < this.o.size; i++) h.addSlot(this.nextSlotId++);
  }

  /** A message of thread `w` of `h`. */
  message(h: PluginHost<E>, w: number, m: WorkerToMain): void {
    const slot = h.slots.find((s) => s.id === w);
    if (!slot || slot.dead) return;
    slot.lastSeen = performance.now();
    if (m.cmd === FromWorker.Ready) {
      slot.ready = true;
      h.readyThreads++;
      this.out.started(h.key);
      this.ev.capacity();
      return;
    }
    this.ev.message(slot, m);
  }

  /** Thread `w` of `h` threw (its exit follows). */
  error(h: PluginHost<E>, w: number, error: SerializedError): void {
    const slot = h.slots.find((s) => s.id === w);
    if (slot) slot.lastError = error;
  }

  /** Thread `w` of `h` exited. */
  exited(h: PluginHost<E>, w: number, code: number): void {
    const id = `${h.id}/${w}`;
    clearTimeout(this.terminating.get(id));
    this.terminating.delete(id);
    const slot = h.slots.find((s) => s.id === w);
    if (!slot || slot.dead) return;
    const why = describeThreadExit(slot, code);
    if (!slot.ready) this.out.startFailed(h.key, new Error(`worker threads fail to start: ${slot.lastError?.message ?? why}`));
    this.abandon(slot, why, h.state === 'ready');
  }

  /**
   * Takes a thread out of service for good: its steps are lost, it is terminated without
   * waiting (if it does not exit, its host takes no new steps and is killed once idle), and a
   * fresh thread replaces it while the host serves.
   */
  abandon(slot: Slot<E>, why: string, replace: boolean): void {
    if (slot.dead) return;
    const h = slot.host;
    slot.dead = true;
    h.slots.splice(h.slots.indexOf(slot), 1);
    this.ev.lost(slot, why);
    if (slot.ready) this.replaced++;
    if (h.state !== 'dead') {
      h.send({ cmd: ToHost.Terminate, w: slot.id });
      const id = `${h.id}/${slot.id}`;
      const t = setTimeout(() => {
        this.terminating.delete(id);
        this.o.warn('a worker thread did not stop: its plugin host is retired once idle', { host: h.id });
        this.out.drain(h);
      }, TERMINATE_WAIT_MS);
      t.unref();
      this.terminating.set(id, t);
    }
    if (replace && h.state === 'ready') h.addSlot(this.nextSlotId++);
    this.ev.capacity();
  }

  /** A ready host's threads: a backup for each stalled one (up to twice `size`), an idle extra shut down. */
  balance(h: PluginHost<E>, now: number): void {
    const healthy = h.slots.filter((s) => !s.dead && !stalled(s, now));
    if (healthy.length < this.o.size && h.slots.length < 2 * this.o.size) h.addSlot(this.nextSlotId++);
    else if (healthy.length > this.o.size) {
      const idle = healthy.find((s) => s.ready && s.inflight.size === 0);
      if (idle) {
        h.send({ cmd: ToHost.Worker, w: idle.id, m: { cmd: ToWorker.Shutdown } });
        idle.dead = true; // its exit is expected
        h.slots.splice(h.slots.indexOf(idle), 1);
      }
    }
  }
}
