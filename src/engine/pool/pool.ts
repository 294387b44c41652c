/**
 * The step worker pool: steps run in `worker_threads` inside plugin-host processes, never in
 * the server process (CONTRACT §9, §16; docs/SECURITY.md). A step goes to the host of its
 * (tenant, profile) — `pool-hosts.ts` starts, keeps and retires those — and there to the
 * least-loaded thread; each thread runs several steps at once; a per-host FIFO holds steps
 * when all are full. Timeouts, stall detection, abandonment and replacement of a thread whose
 * step will not stop, and POOL_CLOSED on close hold as before; abandoning can now also kill a
 * whole host.
 */
import { FromWorker, HEARTBEAT_MS, StepError, ToWorker, type AbortReason, type WorkerToMain } from './protocol.js';
import {
  abortResult,
  failedResult,
  grantedProfile,
  poolSettings,
  stagingError,
  startFailedResult,
  systemLogLine,
  type PoolSettings,
  type PoolStats,
  type StepResult,
  type StepTask,
  type TaskMeta,
  type WorkerPoolOptions,
} from './pool-types.js';
import { SlotArtifacts } from './pool-artifacts.js';
import type { PluginHost, Profile, Slot as SlotOf } from './pool-host.js';
import { HostSet, hostKey, stalled } from './pool-hosts.js';
import { KeyedQueues } from './pool-queue.js';
import { capLog, endedResult, lostResult, type Entry } from './pool-entry.js';

const MAX_TIMER_MS = 2_147_483_647;
const BASE: Profile = { childProcess: false, network: false };

type Slot = SlotOf<Entry>;

/**
 * @example
 * const pool = new WorkerPool({ registry: loadPlugins(['plugins']), artifacts: new TenantArtifacts(store, cas, clock),
 *   perWorkerConcurrency: 64, workDir: '/srv/orchestrator-work' });
 * await pool.start();
 * const r = await pool.run({ plugin: 'echo', inputs: { a: 1 }, tenant: 'demo', runId, stepId: 's', attempt: 1, timeoutMs: 60_000 });
 * if (r.status === 'completed') r.outputs; // { a: 1 }
 * await pool.close();
 */
export class WorkerPool {
  private readonly opts: PoolSettings;
  private readonly hosts: HostSet<Entry>;
  private readonly byId = new Map<number, Entry>();
  private readonly byTaskId = new Map<string, Entry>();
  private readonly waiting = new KeyedQueues<Entry>();
  private readonly slotArtifacts = new WeakMap<Slot, SlotArtifacts>();
  private nextEntryId = 1;
  private closing = false;
  private closed: Promise<void> | null = null;
  private startError: Error | null = null;
  private readonly keyErrors = new Map<string, Error>();
  private readyWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private idleWaiters: Array<() => void> = [];
  private watchdog: NodeJS.Timeout | null = null;
  /** The host start() started (it may have been given to a tenant since). */
  private probe: PluginHost<Entry> | null = null;

  constructor(options: WorkerPoolOptions) {
    this.opts = poolSettings(options);
    this.hosts = new HostSet<Entry>(this.opts, {
      message: (slot, m) => this.onMessage(slot, m),
      lost: (slot, why) => this.onLost(slot, why),
      capacity: () => this.onCapacity(),
      startFailed: (key, err) => this.onStartFailed(key, err),
      queued: (key) => this.waiting.waiting(key),
    });
  }

  /**
   * Prepares the sandbox and starts a spare plugin host (no tenant yet; the first tenant that
   * needs a host for built-ins takes it), resolving once its threads are ready — proof that
   * hosts can start here. Rejects when they cannot (the reason is for the operator).
   */
  start(): Promise<void> {
    if (this.closing) return Promise.reject(new Error('worker pool is closed'));
    this.ensureWatchdog();
    this.startError = null;
    this.keyErrors.clear();
    this.hosts.keepSpare = true;
    if (this.probeReady()) return Promise.resolve();
    if (!this.probe || this.probe.state === 'dead') {
      this.probe = null;
      void this.hosts.start(null, null, BASE).then((h) => {
        this.probe ??= h;
      });
    }
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /**
   * Runs one step attempt. Never rejects for a step's own failure: every outcome (a plugin
   * error, an unknown plugin, a timeout, a lost worker, a closed pool) is a StepResult.
   */
  run(task: StepTask): Promise<StepResult> {
    const taskId = task.taskId ?? `${task.runId}/${task.stepId}/${task.attempt}`;
    if (this.closing) return Promise.resolve(failedResult('POOL_CLOSED', 'the worker pool is shutting down', true));
    if (this.byTaskId.has(taskId)) return Promise.reject(new Error(`task ${taskId} is already in flight`));
    const plugin = typeof task.plugin === 'string' ? this.opts.registry.resolve(task.plugin) : task.plugin;
    if (!plugin) return Promise.resolve(failedResult('PLUGIN_NOT_FOUND', `no plugin ${String(task.plugin)}`, false));
    const profile = grantedProfile(plugin, this.opts);
    const key = hostKey(task.tenant, profile);
    if (this.startError || this.keyErrors.has(key)) return Promise.resolve(startFailedResult());
    this.ensureWatchdog();
    const { tenant, runId, stepId, attempt } = task;
    const meta: TaskMeta = { taskId, tenant, runId, stepId, attempt, plugin: plugin.ref };
    return new Promise<StepResult>((resolve) => {
      const e: Entry = { id: this.nextEntryId++, meta, plugin, key, profile, task, resolve, state: 'queued', slot: null, logs: '', abortReason: null };
      this.byId.set(e.id, e);
      this.byTaskId.set(taskId, e);
      this.waiting.count(e);
      if (this.hosts.env.isStaged(plugin)) return this.enqueue(e);
      // A folder plugin is copied for the hosts first (once); one that cannot be fails its step.
      this.hosts.env.stage(plugin).then(
        () => this.enqueue(e),
        (err: unknown) => {
          if (!(err instanceof StepError)) this.opts.warn('a plugin could not be copied for plugin hosts', { plugin: plugin.ref, error: (err as Error).message });
          this.finish(e, { status: 'failed', error: stagingError(err, plugin.ref), logs: '' });
        },
      );
    });
  }

  private enqueue(e: Entry): void {
    if (e.state !== 'queued') return; // aborted (or the pool closed) meanwhile
    this.waiting.push(e);
    this.pump();
  }

  /** Cancels (or times out) a queued or running task; false when no such task is in flight. */
  abort(taskId: string, reason: AbortReason = 'cancel'): boolean {
    const e = this.byTaskId.get(taskId);
    if (!e) return false;
    this.abortEntry(e, reason);
    return true;
  }

  /** Cancels every in-flight or queued task of a run; returns how many. */
  abortRun(runId: string, reason: AbortReason = 'cancel'): number {
    const hits = [...this.byId.values()].filter((e) => e.meta.runId === runId);
    for (const e of hits) this.abortEntry(e, reason);
    return hits.length;
  }

  stats(): PoolStats {
    const live = [...this.hosts.hosts].flatMap((h) => h.slots.filter((s) => !s.dead));
    return {
      hosts: this.hosts.hosts.size,
      workers: live.length,
      ready: live.filter((s) => s.ready).length,
      busy: live.filter((s) => s.inflight.size > 0).length,
      running: this.byId.size - this.waiting.size,
      queued: this.waiting.size,
      capacity: live.length * this.opts.perWorkerConcurrency,
      replaced: this.hosts.replaced,
    };
  }

  /**
   * Stops taking work: queued tasks fail with `POOL_CLOSED` (retryable) at once, running ones
   * get up to `timeoutMs` to finish (then fail with `POOL_CLOSED`), then the hosts end (killed
   * if they linger). Never waits on a thread that will not die.
   */
  close(timeoutMs = 30_000): Promise<void> {
    this.closed ??= this.doClose(timeoutMs);
    return this.closed;
  }

  private async doClose(timeoutMs: number): Promise<void> {
    this.closing = true;
    this.hosts.closing = true;
    if (this.watchdog) clearInterval(this.watchdog);
    const closedError = new Error('worker pool is closed');
    for (const w of this.readyWaiters.splice(0)) w.reject(closedError);
    for (const e of [...this.byId.values()]) {
      if (e.state === 'queued') this.finish(e, failedResult('POOL_CLOSED', 'the worker pool is shutting down', true));
    }
    if (this.byId.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    }
    for (const e of [...this.byId.values()]) {
      this.finish(e, failedResult('POOL_CLOSED', 'the worker pool shut down before the step ended', true, e.logs));
    }
    await this.hosts.closeAll();
  }

  // ---- hosts and threads ----

  private ensureWatchdog(): void {
    if (this.watchdog || this.closing) return;
    this.watchdog = setInterval(() => {
      this.hosts.tick();
      if (this.waiting.size > 0) this.pump();
    }, HEARTBEAT_MS);
    this.watchdog.unref();
  }

  private probeReady(): boolean {
    const p = this.probe;
    return !!p && p.state !== 'dead' && p.slots.filter((s) => s.ready && !s.dead).length >= this.opts.size;
  }

  private onCapacity(): void {
    if (this.probeReady()) for (const w of this.readyWaiters.splice(0)) w.resolve();
    this.pump();
  }

  private onStartFailed(key: string | null, err: Error): void {
    if (key === null) {
      this.startError = err;
      for (const w of this.readyWaiters.splice(0)) w.reject(err);
      return;
    }
    this.keyErrors.set(key, err);
    for (const e of [...this.byId.values()]) {
      if (e.state === 'queued' && e.key === key) this.finish(e, startFailedResult());
    }
  }

  private onMessage(slot: Slot, m: WorkerToMain): void {
    switch (m.cmd) {
      case FromWorker.Heartbeat:
        if (this.waiting.size > 0) this.pump(); // it may have been passed over as stalled
        return;
      case FromWorker.Done:
      case FromWorker.Failed: {
        const e = slot.inflight.get(m.taskId);
        if (e) this.finish(e, endedResult(e, m, this.opts));
        return;
      }
      case FromWorker.Log: {
        const e = slot.inflight.get(m.taskId);
        if (e) e.logs = capLog(e.logs + m.lines, this.opts.maxLogBytes);
        return;
      }
      case FromWorker.WriteArtifact:
      case FromWorker.ReadArtifact:
      case FromWorker.ArtifactChunk:
      case FromWorker.ArtifactEnd:
      case FromWorker.ArtifactAbort:
        this.artifactsOf(slot).handle(m, slot.inflight.get(m.taskId)?.meta);
        return;
    }
  }

  private artifactsOf(slot: Slot): SlotArtifacts {
    let a = this.slotArtifacts.get(slot);
    if (!a) this.slotArtifacts.set(slot, (a = new SlotArtifacts(this.opts.artifacts, (m) => slot.host.post(slot, m))));
    return a;
  }

  /** A thread is gone for good: its steps fail WORKER_LOST (or take their abort outcome). */
  private onLost(slot: Slot, why: string): void {
    const entries = [...slot.inflight.values()];
    try {
      const tasks = entries.map((e) => e.meta.taskId);
      this.opts.onWorkerLost?.({ workerId: slot.id, reason: why, detail: slot.lastError?.message, tasks, duringStart: !slot.ready });
    } catch {
      /* an observer must not break the pool */
    }
    for (const e of entries) this.finish(e, lostResult(e, why));
    this.slotArtifacts.get(slot)?.endTask();
  }

  // ---- tasks ----

  private pump(): void {
    if (this.closing) return;
    for (const [key, q] of this.waiting.fifos()) {
      for (let e = q.peek(); e; e = q.peek()) {
        const host = this.hosts.usable(key, e.meta.tenant, e.profile, e.plugin);
        const slot = host && this.pickSlot(host.slots);
        if (!slot) break;
        q.shift();
        this.dispatch(slot, e);
      }
    }
  }

  private pickSlot(slots: readonly Slot[]): Slot | null {
    let best: Slot | null = null;
    const now = performance.now();
    for (const s of slots) {
      if (!s.ready || s.dead || s.inflight.size >= this.opts.perWorkerConcurrency) continue;
      // A thread whose event loop is blocked would only hold the step hostage: wait for another.
      if (stalled(s, now)) continue;
      if (!best || s.inflight.size < best.inflight.size) best = s;
    }
    return best;
  }

  private dispatch(slot: Slot, e: Entry): void {
    e.state = 'running';
    e.slot = slot;
    this.waiting.uncount(e);
    slot.inflight.set(e.id, e);
    slot.host.lastActive = performance.now();
    const t = e.task;
    const timeoutMs = Math.min(Math.max(1, Number.isFinite(t.timeoutMs) ? t.timeoutMs : MAX_TIMER_MS), MAX_TIMER_MS);
    e.timer = setTimeout(() => this.abortEntry(e, 'timeout'), timeoutMs);
    slot.host.post(slot, {
      cmd: ToWorker.Run,
      taskId: e.id,
      plugin: this.hosts.env.refFor(e.plugin),
      inputs: t.inputs,
      tenant: t.tenant,
      runId: t.runId,
      stepId: t.stepId,
      attempt: t.attempt,
      timeoutMs,
    });
  }

  private abortEntry(e: Entry, reason: AbortReason): void {
    if (e.state === 'done' || e.abortReason) return;
    if (e.state === 'queued') return this.finish(e, abortResult(reason, e.task.timeoutMs, e.logs));
    e.abortReason = reason;
    const slot = e.slot!;
    slot.host.post(slot, { cmd: ToWorker.Abort, taskId: e.id, reason });
    e.graceTimer = setTimeout(() => {
      if (e.state === 'done') return;
      const why = `step did not stop within ${this.opts.abortGraceMs} ms of its ${reason}; its worker was replaced`;
      // Out of service first: finishing the step frees a slot on it, and the queue must not be
      // pumped into a thread that is about to be abandoned (its new step would be WORKER_LOST).
      slot.inflight.delete(e.id);
      this.hosts.abandon(slot, `worker abandoned: another step on it did not stop after its ${reason}`, true);
      this.finish(e, abortResult(reason, e.task.timeoutMs, e.logs + systemLogLine(why)));
    }, this.opts.abortGraceMs);
  }

  private finish(e: Entry, result: StepResult): void {
    if (e.state === 'done') return;
    if (e.state === 'queued') this.waiting.uncount(e);
    e.state = 'done';
    clearTimeout(e.timer);
    clearTimeout(e.graceTimer);
    if (e.slot) {
      e.slot.inflight.delete(e.id);
      this.slotArtifacts.get(e.slot)?.endTask(e.meta.taskId);
    }
    this.byId.delete(e.id);
    this.byTaskId.delete(e.meta.taskId);
    e.resolve(result);
    if (this.byId.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    if (e.slot && !this.closing) this.pump();
  }
}

