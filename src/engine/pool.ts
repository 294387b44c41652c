/**
 * The step worker pool: persistent `worker_threads`, each running several steps at once,
 * dispatch to the least-loaded worker, a FIFO queue when all are full, per-step timeouts, and
 * abandonment + replacement of a worker whose step will not stop (CONTRACT §9).
 */
import { FromWorker, HEARTBEAT_MS, STALL_MS, ToWorker, type AbortReason, type PluginRef, type WorkerConfig, type WorkerToMain } from './protocol.js';
import {
  abortResult,
  failedResult,
  poolSettings,
  systemLogLine,
  type PoolSettings,
  type PoolStats,
  type StepResult,
  type StepTask,
  type TaskMeta,
  type WorkerPoolOptions,
} from './pool-types.js';
import { answerArtifactRequest, describeExit, discard, postTo, spawnSlot, type Slot as SlotOf } from './pool-worker.js';
import { TaskQueue } from './pool-queue.js';

const MAX_TIMER_MS = 2_147_483_647;
const MAX_START_FAILURES = 3;

type Slot = SlotOf<Entry>;

interface Entry {
  readonly id: number;
  readonly meta: TaskMeta;
  readonly ref: PluginRef;
  readonly task: StepTask;
  readonly resolve: (r: StepResult) => void;
  state: 'queued' | 'running' | 'done';
  slot: Slot | null;
  logs: string;
  abortReason: AbortReason | null;
  timer?: NodeJS.Timeout;
  graceTimer?: NodeJS.Timeout;
}

/**
 * @example
 * const pool = new WorkerPool({ registry: loadPlugins(['plugins']), artifacts: {
 *   write: async (_t, bytes) => (await store.put(bytes)).hash, read: (_t, h) => store.get(h) } });
 * await pool.start();
 * const r = await pool.run({ plugin: 'echo', inputs: { a: 1 }, tenant: 'demo', runId, stepId: 's', attempt: 1, timeoutMs: 60_000 });
 * if (r.status === 'completed') r.outputs; // { a: 1 }
 * await pool.close();
 */
export class WorkerPool {
  private readonly opts: PoolSettings;
  private readonly config: WorkerConfig;
  private slots: Slot[] = [];
  private readonly byId = new Map<number, Entry>();
  private readonly byTaskId = new Map<string, Entry>();
  private readonly queue = new TaskQueue<Entry>();
  private queued = 0;
  private nextEntryId = 1;
  private nextSlotId = 1;
  private rr = 0;
  private started = false;
  private closing = false;
  private closed: Promise<void> | null = null;
  private startFailures = 0;
  private startError: Error | null = null;
  private replaced = 0;
  private readyWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private idleWaiters: Array<() => void> = [];
  private watchdog: NodeJS.Timeout | null = null;

  constructor(options: WorkerPoolOptions) {
    this.opts = poolSettings(options);
    const { perWorkerConcurrency: concurrency, execAllow, workDir, maxOutputBytes, maxLogBytes } = this.opts;
    this.config = { concurrency, execAllow, workDir, maxOutputBytes, maxLogBytes };
  }

  /** Spawns the workers (once; later calls just wait) and resolves when they are all ready. */
  start(): Promise<void> {
    if (this.closing) return Promise.reject(new Error('worker pool is closed'));
    if (!this.started || this.startError) {
      this.started = true;
      this.startError = null;
      this.startFailures = 0;
      while (this.slots.length < this.opts.size) this.spawn();
      this.watchdog ??= setInterval(() => this.checkStalls(), HEARTBEAT_MS);
      this.watchdog.unref();
    }
    if (this.slots.filter((s) => s.ready).length >= this.opts.size) return Promise.resolve();
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
    if (!this.started) void this.start().catch(() => undefined);
    if (this.startError) return Promise.resolve(startFailedResult());
    const { tenant, runId, stepId, attempt } = task;
    const meta: TaskMeta = { taskId, tenant, runId, stepId, attempt, plugin: plugin.ref };
    return new Promise<StepResult>((resolve) => {
      const id = this.nextEntryId++;
      const e: Entry = { id, meta, ref: plugin.workerRef, task, resolve, state: 'queued', slot: null, logs: '', abortReason: null };
      this.byId.set(e.id, e);
      this.byTaskId.set(taskId, e);
      this.queue.push(e);
      this.queued++;
      this.pump();
    });
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
    const live = this.slots;
    return {
      workers: live.length,
      ready: live.filter((s) => s.ready).length,
      busy: live.filter((s) => s.inflight.size > 0).length,
      running: this.byId.size - this.queued,
      queued: this.queued,
      capacity: live.length * this.opts.perWorkerConcurrency,
      replaced: this.replaced,
    };
  }

  /**
   * Stops taking work: queued tasks fail with `POOL_CLOSED` (retryable) at once, running ones
   * get up to `timeoutMs` to finish (then fail with `POOL_CLOSED`), then the workers end.
   * Never waits on a worker that will not die.
   */
  close(timeoutMs = 30_000): Promise<void> {
    this.closed ??= this.doClose(timeoutMs);
    return this.closed;
  }

  private async doClose(timeoutMs: number): Promise<void> {
    this.closing = true;
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
    const slots = this.slots.splice(0);
    const exits = slots.map((s) => new Promise<void>((resolve) => (s.dead ? resolve() : s.thread.once('exit', () => resolve()))));
    for (const s of slots) {
      postTo(s, { cmd: ToWorker.Shutdown });
      s.dead = true; // a shut-down worker is not "lost": its exit is expected
    }
    const gone = await Promise.race([Promise.all(exits).then(() => true), delay(1000).then(() => false)]);
    if (!gone) {
      for (const s of slots) discard(s);
      await Promise.race([Promise.all(exits), delay(1000)]);
    }
  }

  // ---- workers ----

  /** A worker with steps in flight that has been silent past STALL_MS: its event loop is blocked. */
  private stalled(s: Slot, now: number): boolean {
    return s.ready && s.inflight.size > 0 && now - s.lastSeen > STALL_MS;
  }

  /**
   * Keeps `size` workers able to take steps: a stalled worker (a step blocking its thread until
   * its timeout, an hour by default) is backed by a fresh one, up to twice the pool's size in
   * all; once stalled workers recover, idle extras are retired.
   */
  private checkStalls(): void {
    if (this.closing || this.startError) return;
    const now = performance.now();
    const healthy = this.slots.filter((s) => !s.dead && !this.stalled(s, now));
    if (healthy.length < this.opts.size && this.slots.length < 2 * this.opts.size) {
      this.spawn();
      return;
    }
    if (healthy.length > this.opts.size) {
      const idle = healthy.find((s) => s.ready && s.inflight.size === 0);
      if (idle) this.retire(idle);
    }
  }

  /** Shuts an idle worker down for good (not a loss: nothing runs on it). */
  private retire(slot: Slot): void {
    postTo(slot, { cmd: ToWorker.Shutdown });
    slot.dead = true; // its exit is expected
    this.slots = this.slots.filter((s) => s !== slot);
    setTimeout(() => discard(slot), 1000).unref();
  }

  private spawn(): void {
    const slot: Slot = spawnSlot<Entry>(this.nextSlotId++, {
      config: this.config,
      resourceLimits: this.opts.resourceLimits,
      output: this.opts.workerOutput,
      onMessage: (m) => this.onMessage(slot, m),
      onExit: (code) => this.onExit(slot, code),
    });
    this.slots.push(slot);
  }

  private onMessage(slot: Slot, m: WorkerToMain): void {
    if (slot.dead) return;
    slot.lastSeen = performance.now();
    switch (m.cmd) {
      case FromWorker.Heartbeat:
        if (this.queued > 0) this.pump(); // it may have been passed over as stalled
        return;
      case FromWorker.Ready:
        slot.ready = true;
        this.startFailures = 0;
        if (this.slots.filter((s) => s.ready).length >= this.opts.size) {
          for (const w of this.readyWaiters.splice(0)) w.resolve();
        }
        this.pump();
        return;
      case FromWorker.Done: {
        const e = slot.inflight.get(m.taskId);
        if (!e) return;
        const logs = e.logs + m.logs;
        if (e.abortReason) return this.finish(e, abortResult(e.abortReason, e.task.timeoutMs, logs));
        const outputs = JSON.parse(m.outputsJson) as Record<string, unknown>;
        return this.finish(e, { status: 'completed', outputs, outputsJson: m.outputsJson, outputsHash: m.outputsHash, logs });
      }
      case FromWorker.Failed: {
        const e = slot.inflight.get(m.taskId);
        if (!e) return;
        const logs = e.logs + m.logs;
        if (e.abortReason) return this.finish(e, abortResult(e.abortReason, e.task.timeoutMs, logs));
        return this.finish(e, { status: 'failed', error: m.error, logs });
      }
      case FromWorker.Log: {
        const e = slot.inflight.get(m.taskId);
        if (e) e.logs += m.lines;
        return;
      }
      case FromWorker.WriteArtifact:
      case FromWorker.ReadArtifact:
        void answerArtifactRequest(slot, m, slot.inflight.get(m.taskId)?.meta, this.opts.artifacts);
        return;
    }
  }

  private onExit(slot: Slot, code: number): void {
    if (slot.dead) return;
    const why = describeExit(slot, code);
    if (!slot.ready && !this.closing && ++this.startFailures >= MAX_START_FAILURES) {
      this.abandon(slot, why, false);
      this.startError = new Error(`worker threads fail to start: ${slot.lastError?.message ?? why}`);
      for (const w of this.readyWaiters.splice(0)) w.reject(this.startError);
      for (const e of [...this.byId.values()]) {
        if (e.state === 'queued') this.finish(e, startFailedResult());
      }
      return;
    }
    this.abandon(slot, why, true);
  }

  /**
   * Takes a worker out of service for good: its in-flight steps fail with WORKER_LOST (or their
   * abort outcome), it is terminated without waiting, and a fresh worker replaces it.
   */
  private abandon(slot: Slot, why: string, replace: boolean): void {
    if (slot.dead) return;
    slot.dead = true;
    this.slots = this.slots.filter((s) => s !== slot);
    const tasks = [...slot.inflight.values()].map((e) => e.meta.taskId);
    try {
      this.opts.onWorkerLost?.({ workerId: slot.id, reason: why, detail: slot.lastError?.message, tasks, duringStart: !slot.ready });
    } catch {
      /* an observer must not break the pool */
    }
    for (const e of [...slot.inflight.values()]) {
      const logs = e.logs + systemLogLine(why);
      this.finish(e, e.abortReason ? abortResult(e.abortReason, e.task.timeoutMs, logs) : failedResult('WORKER_LOST', why, true, logs));
    }
    discard(slot);
    if (slot.ready) this.replaced++;
    if (replace && !this.closing) this.spawn();
    this.pump();
  }

  // ---- tasks ----

  private pump(): void {
    for (let e = this.queue.peek(); e; e = this.queue.peek()) {
      const slot = this.pickSlot();
      if (!slot) return;
      this.queue.shift();
      this.dispatch(slot, e);
    }
  }

  private pickSlot(): Slot | null {
    let best: Slot | null = null;
    const now = performance.now();
    const n = this.slots.length;
    for (let i = 0; i < n; i++) {
      const s = this.slots[(this.rr + i) % n]!;
      if (!s.ready || s.dead || s.inflight.size >= this.opts.perWorkerConcurrency) continue;
      // A worker whose event loop is blocked would only hold the step hostage: wait for another.
      if (this.stalled(s, now)) continue;
      if (!best || s.inflight.size < best.inflight.size) best = s;
    }
    if (best) this.rr = (this.rr + 1) % Math.max(1, n);
    return best;
  }

  private dispatch(slot: Slot, e: Entry): void {
    e.state = 'running';
    e.slot = slot;
    this.queued--;
    slot.inflight.set(e.id, e);
    const t = e.task;
    const timeoutMs = Math.min(Math.max(1, Number.isFinite(t.timeoutMs) ? t.timeoutMs : MAX_TIMER_MS), MAX_TIMER_MS);
    e.timer = setTimeout(() => this.abortEntry(e, 'timeout'), timeoutMs);
    postTo(slot, {
      cmd: ToWorker.Run,
      taskId: e.id,
      plugin: e.ref,
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
    postTo(slot, { cmd: ToWorker.Abort, taskId: e.id, reason });
    e.graceTimer = setTimeout(() => {
      if (e.state === 'done') return;
      const why = `step did not stop within ${this.opts.abortGraceMs} ms of its ${reason}; its worker was replaced`;
      // Out of service first: finishing the step frees a slot on it, and the queue must not be
      // pumped into a worker that is about to be abandoned (its new step would be WORKER_LOST).
      slot.inflight.delete(e.id);
      this.abandon(slot, `worker abandoned: another step on it did not stop after its ${reason}`, true);
      this.finish(e, abortResult(reason, e.task.timeoutMs, e.logs + systemLogLine(why)));
    }, this.opts.abortGraceMs);
  }

  private finish(e: Entry, result: StepResult): void {
    if (e.state === 'done') return;
    if (e.state === 'queued') this.queued--;
    e.state = 'done';
    clearTimeout(e.timer);
    clearTimeout(e.graceTimer);
    e.slot?.inflight.delete(e.id);
    this.byId.delete(e.id);
    this.byTaskId.delete(e.meta.taskId);
    e.resolve(result);
    if (this.byId.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    if (e.slot && !this.closing) this.pump();
  }
}

/** The detail (which may name server paths) is in start()'s rejection, for the operator. */
function startFailedResult(): StepResult {
  return failedResult('WORKER_START_FAILED', 'worker threads fail to start (see the server log)', true);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
