/**
 * The step worker pool: steps run in `worker_threads` inside plugin-host processes, never in
 * the server process (CONTRACT §9, §16; docs/SECURITY.md). A step goes to the host of its
 * (tenant, profile) — `pool-hosts.ts` starts, keeps and retires those — and there to the
 * least-loaded thread; each thread runs several steps at once; a per-host FIFO holds steps
 * when all are full. Timeouts, stall detection, abandonment and replacement of a thread whose
 * step will not stop, and POOL_CLOSED on close hold as before; abandoning can now also kill a
 * whole host.
 */
import { HEARTBEAT_MS, StepError, ToWorker, type AbortReason } from './protocol.js';
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
import { leastLoaded, type Profile, type Slot as SlotOf } from './pool-host.js';
import { HostSet, hostKey } from './pool-hosts.js';
import { PoolReadiness } from './pool-readiness.js';
import { KeyedQueues } from './pool-queue.js';
import type { Entry } from './pool-entry.js';
import { ThreadMessages } from './pool-threads.js';

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
  private readonly threads: ThreadMessages;
  private nextEntryId = 1;
  private closing = false;
  private closed: Promise<void> | null = null;
  private readonly readiness: PoolReadiness<Entry>;
  private idleWaiters: Array<() => void> = [];
  private watchdog: NodeJS.Timeout | null = null;

  constructor(options: WorkerPoolOptions) {
    this.opts = poolSettings(options);
    this.readiness = new PoolReadiness(this.opts.size);
    this.threads = new ThreadMessages(this.opts, { finish: (e, r) => this.finish(e, r), pump: () => this.pump(), waiting: () => this.waiting.size });
    this.hosts = new HostSet<Entry>(this.opts, {
      message: (slot, m) => this.threads.message(slot, m),
      lost: (slot, why) => this.threads.lost(slot, why),
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
    const r = this.readiness;
    r.reset();
    this.hosts.keepSpare = true;
    if (r.ready()) return Promise.resolve();
    if (!r.probe || r.probe.state === 'dead') {
      r.probe = null;
      void this.hosts.start(null, null, BASE).then((h) => {
        r.probe ??= h;
      });
    }
    return r.wait();
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
    if (this.readiness.blocked(key)) return Promise.resolve(startFailedResult());
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
    this.readiness.reject(closedError);
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

  private onCapacity(): void {
    this.readiness.capacity();
    this.pump();
  }

  private onStartFailed(key: string | null, err: Error): void {
    this.readiness.failed(key, err);
    if (key === null) return;
    for (const e of [...this.byId.values()]) {
      if (e.state === 'queued' && e.key === key) this.finish(e, startFailedResult());
    }
  }

  // ---- tasks ----

  private pump(): void {
    if (this.closing) return;
    for (const [key, q] of this.waiting.fifos()) {
      for (let e = q.peek(); e; e = q.peek()) {
        const host = this.hosts.usable(key, e.meta.tenant, e.profile, e.plugin);
        const slot = host && leastLoaded(host.slots, this.opts.perWorkerConcurrency);
        if (!slot) break;
        q.shift();
        this.dispatch(slot, e);
      }
    }
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
      this.threads.endTask(e.slot, e.meta.taskId);
    }
    this.byId.delete(e.id);
    this.byTaskId.delete(e.meta.taskId);
    e.resolve(result);
    if (this.byId.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    if (e.slot && !this.closing) this.pump();
  }
}

