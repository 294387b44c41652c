/**
 * The pool's plugin-host processes: one per (tenant, profile) — a tenant's steps never share a
 * process with another tenant's — started on demand, kept warm, retired when idle, at most
 * `maxHosts`. Each host runs `size` worker threads (plus backups for stalled ones, up to twice
 * that). This file decides which processes and threads exist; `pool.ts` decides which step
 * runs where and when it ends.
 */
import { rm, rmdir } from 'node:fs/promises';
import { FromHost, type HostToServer } from './host-protocol.js';
import { HEARTBEAT_MS, type WorkerToMain } from './protocol.js';
import { HostEnv } from './pool-env.js';
import { PluginHost, type Profile, type Slot } from './pool-host.js';
import { HostThreads } from './host-threads.js';
import type { PoolSettings } from './pool-types.js';
import type { ResolvedPlugin } from '../plugins/plugins.js';

const MAX_START_FAILURES = 3;

export interface HostEvents<E> {
  message(slot: Slot<E>, m: WorkerToMain): void;
  /** A thread is gone for good; its steps fail (WORKER_LOST) or take their abort outcome. */
  lost(slot: Slot<E>, why: string): void;
  /** Capacity may have appeared (a thread became ready, a host retired). */
  capacity(): void;
  /** Hosts for `key` (null: the probe of start()) fail to start. */
  startFailed(key: string | null, error: Error): void;
  /** Steps waiting for a host of `key`. */
  queued(key: string): number;
}

export function hostKey(tenant: string, p: Profile): string {
  return `${tenant}\u0000${p.childProcess ? 'x' : '-'}${p.network ? 'n' : '-'}`;
}

export class HostSet<E> {
  readonly hosts = new Set<PluginHost<E>>();
  /** The host taking new steps for each key. */
  private readonly active = new Map<string, PluginHost<E>>();
  private readonly failures = new Map<string | null, number>();
  /** Folder plugins a tenant ran that are not shared: a new host of the tenant may read them too. */
  private readonly seen = new Map<string, Map<string, ResolvedPlugin>>();
  private readonly starting = new Set<string>();
  /** Retired hosts not yet exited. */
  private readonly dying = new Set<PluginHost<E>>();
  private nextHostId = 1;
  /** A started host with no tenant yet (base profile, shared plugins): the next new tenant takes it. */
  spare: PluginHost<E> | null = null;
  /** Keep a spare ready (set once the pool was started): a new tenant's first step waits for no process. */
  keepSpare = false;
  /** Set by the pool's close(): nothing new starts (a start already under way is abandoned). */
  closing = false;
  private readonly threads: HostThreads<E>;

  constructor(
    private readonly o: PoolSettings,
    private readonly ev: HostEvents<E>,
    readonly env: HostEnv = new HostEnv(o),
  ) {
    this.threads = new HostThreads(o, ev, {
      started: (key) => this.failures.delete(key),
      startFailed: (key, err) => this.countFailure(key, err),
      drain: (h) => this.drain(h),
    });
  }

  /**
   * Ends every host (threads abort their steps; a host still there after a second is killed),
   * waits for the starts under way to give up, removes the pool's files and, if it is empty,
   * the work root.
   */
  async closeAll(): Promise<void> {
    this.closing = true;
    const hosts = [...this.hosts];
    for (const h of hosts) this.retire(h, 1000);
    await Promise.race([Promise.all(hosts.map((h) => h.exited())), new Promise((r) => setTimeout(r, 2000).unref())]);
    while (this.starting.size > 0) await new Promise((r) => setTimeout(r, 10));
    for (const h of [...this.hosts, ...this.dying]) h.kill();
    await this.env.cleanup();
    await rmdir(this.o.workDir).catch(() => undefined);
  }

  /**
   * The host that may take a step of `plugin` for `key` now, or null (then one is being
   * started, or will be once there is room: `capacity` is signalled).
   */
  usable(key: string, tenant: string, profile: Profile, plugin: ResolvedPlugin): PluginHost<E> | null {
    const h = this.active.get(key);
    const covered = (x: PluginHost<E>) => plugin.builtin || x.plugins.has(plugin.hash);
    if (h && h.state === 'ready' && covered(h)) return h;
    if (h && h.state === 'starting' && covered(h)) return null;
    if (h && !covered(h)) this.drain(h); // it cannot read the plugin: a successor that can
    if (!plugin.builtin && !this.shared().some((p) => p.hash === plugin.hash)) {
      (this.seen.get(tenant) ?? this.seen.set(tenant, new Map()).get(tenant)!).set(plugin.hash, plugin);
    }
    const spare = this.spare;
    if (!h && spare?.state === 'ready' && !profile.childProcess && !profile.network && covered(spare) && !this.seen.has(tenant)) {
      this.spare = null;
      spare.key = key;
      spare.tenant = tenant;
      this.active.set(key, spare);
      if (this.keepSpare) void this.start(null, null, { childProcess: false, network: false });
      return spare;
    }
    void this.start(key, tenant, profile);
    return null;
  }

  /** Starts a host for `key` (null: the spare of start()) unless one is starting or there is no room. */
  async start(key: string | null, tenant: string | null, profile: Profile): Promise<PluginHost<E> | null> {
    const k = key ?? '';
    if (this.closing || this.starting.has(k)) return null;
    if (!this.makeRoom()) return null;
    this.starting.add(k);
    try {
      const { runtime, sandbox } = await this.env.prepare();
      const plugins = await this.env.stageAll([...this.shared(), ...(tenant ? (this.seen.get(tenant)?.values() ?? []) : [])]);
      const id = this.nextHostId++;
      const workDir = await this.env.hostFolder(id);
      if (this.closing) {
        await rm(workDir, { recursive: true, force: true });
        return null;
      }
      const readPaths = [...runtime.readPaths, ...plugins.map((p) => this.env.dirOf(p)), ...(profile.childProcess ? this.o.execAllow : [])];
      const { perWorkerConcurrency: concurrency, execAllow, execEnvAllow, maxOutputBytes, maxLogBytes } = this.o;
      const host: PluginHost<E> = new PluginHost<E>({
        id,
        key,
        tenant,
        profile,
        workDir,
        readPaths,
        runtime,
        sandbox,
        plugins: new Set(plugins.map((p) => p.hash)),
        worker: { concurrency, execAllow, execEnvAllow, maxOutputBytes, maxLogBytes },
        resourceLimits: this.o.resourceLimits,
        output: this.o.workerOutput,
        onMessage: (h, m) => this.onMessage(h, m),
        onExit: (h, why) => this.onExit(h, why),
      });
      this.hosts.add(host);
      if (key === null) this.spare = host;
      else this.active.set(key, host);
      return host;
    } catch (err) {
      this.o.warn('a plugin host could not be prepared', { error: (err as Error).message });
      this.fail(key, err as Error);
      return null;
    } finally {
      this.starting.delete(k);
    }
  }

  /** Folder plugins every host may read (installation-wide ones). */
  private shared(): ResolvedPlugin[] {
    return this.o.sharedPlugins().filter((p) => !p.builtin);
  }

  /** Below the cap, retiring an idle host (least recently used) if needed; false when full. */
  private makeRoom(): boolean {
    if (this.hosts.size + this.starting.size < this.o.maxHosts) return true;
    const byAge = [...this.hosts].sort((a, b) => a.lastActive - b.lastActive);
    if (byAge.some((h) => h.state === 'draining')) return false; // room is already being made
    // Idle: started, nothing running, nothing waiting for it (a starting host is about to be used).
    const idle = byAge.find((h) => h.state === 'ready' && h.inflight() === 0 && (h.key === null || this.ev.queued(h.key) === 0));
    if (idle) {
      this.retire(idle);
      return true;
    }
    // Every host is busy or about to be: the oldest one running steps takes no new ones, so it
    // idles and makes room (a host with nothing running yet is never drained: it is about to be used).
    const victim = byAge.find((h) => h.state === 'ready' && h.inflight() > 0);
    if (victim) this.drain(victim);
    return false;
  }

  /** No new steps for it; retired once its steps end. */
  drain(h: PluginHost<E>): void {
    if (h.state === 'dead') return;
    h.state = 'draining';
    if (h.key !== null && this.active.get(h.key) === h) this.active.delete(h.key);
    if (this.spare === h) this.spare = null;
    if (h.inflight() === 0) this.retire(h);
  }

  /** Ends a host whose work is done: shutdown, then SIGKILL if it lingers. */
  retire(h: PluginHost<E>, wait = 1500): void {
    if (h.state === 'dead') return;
    h.state = 'dead';
    this.forget(h);
    h.shutdown();
    this.dying.add(h);
    const t = setTimeout(() => h.kill(), wait);
    t.unref();
    void h.exited().then(() => {
      clearTimeout(t);
      this.dying.delete(h);
    });
  }

  private forget(h: PluginHost<E>): void {
    this.hosts.delete(h);
    if (h.key !== null && this.active.get(h.key) === h) this.active.delete(h.key);
    if (this.spare === h) this.spare = null;
    for (const s of h.slots) s.dead = true;
    setImmediate(() => this.ev.capacity());
  }

  private onExit(h: PluginHost<E>, why: string): void {
    void rm(h.workDir, { recursive: true, force: true }).catch(() => undefined);
    if (h.state === 'dead') return;
    h.state = 'dead';
    this.o.warn('plugin host exited', { host: h.id, tenant: h.tenant, reason: why, stderr: h.lastStderr.slice(-500) });
    const live = h.slots.filter((s) => !s.dead);
    for (const s of live) s.dead = true;
    for (const s of live) this.ev.lost(s, why);
    if (h.readyThreads === 0) this.countFailure(h.key, new Error(`plugin host failed to start: ${why}`));
    this.forget(h);
  }

  private onMessage(h: PluginHost<E>, m: HostToServer): void {
    switch (m.cmd) {
      case FromHost.Ready:
        return this.threads.hostReady(h, m.execWrapper);
      case FromHost.Worker:
        return this.threads.message(h, m.w, m.m);
      case FromHost.WorkerError:
        return this.threads.error(h, m.w, m.error);
      case FromHost.WorkerExit:
        return this.threads.exited(h, m.w, m.code);
    }
  }

  private countFailure(key: string | null, err: Error): void {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    if (n >= MAX_START_FAILURES) this.fail(key, err);
  }

  private fail(key: string | null, err: Error): void {
    this.failures.delete(key);
    for (const h of [...this.hosts]) if (h.key === key && h.readyThreads === 0) {
      this.retire(h, 0);
    }
    this.ev.startFailed(key, err);
  }

  /** Takes a thread out of service for good (see {@link HostThreads.abandon}). */
  abandon(slot: Slot<E>, why: string, replace: boolean): void {
    this.threads.abandon(slot, why, replace);
  }

  /** Threads replaced after they were ready. */
  get replaced(): number {
    return this.threads.replaced;
  }

  /** Backs stalled threads, retires idle extras and idle hosts (called every HEARTBEAT_MS). */
  tick(): void {
    const now = performance.now();
    for (const h of [...this.hosts]) {
      if (h.state === 'draining' && h.inflight() === 0) {
        this.retire(h);
        continue;
      }
      if (h.inflight() > 0 || (h.key !== null && this.ev.queued(h.key) > 0)) h.lastActive = now;
      else if (h.state === 'ready' && now - h.lastActive > this.o.hostIdleMs && !(h === this.spare && this.keepSpare)) {
        this.retire(h);
        continue;
      }
      if (h.state === 'ready') this.threads.balance(h, now);
    }
  }
}

export { HEARTBEAT_MS };
