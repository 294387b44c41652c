/**
 * The firing scheduler: sleeps until the earliest next fire of any schedule (one wake-up on a
 * min-heap keyed on due time, as for retry timers; no polling), then decides every due fire in
 * one transaction per batch: the catch-up policy (catchup.ts) picks what starts, the overlap
 * policy what happens while a run of the schedule is still active, and the run, its events,
 * `schedule.fired` / `schedule.missed` and the schedule's `lastFire` and next fire commit
 * together. A fire's run has the `runToken` `schedule:<id>:<fire UTC>` and the fire is recorded
 * with a compare-and-set on the schedule's `next_fire_ms`: a fire is decided exactly once,
 * across restarts, crashes and processes sharing the database (docs/SCHEDULES.md).
 *
 * @example
 * const firer = new ScheduleFirer({ ports, clock, logger, runs, scheduler });
 * await firer.start();            // after recovery: fills the heap, catches up what is due
 * await firer.changed('demo', 'nightly'); // after a create, replace, resume
 */
import type { Logger } from 'pino';
import { ApiError, iso, randomHex, type Clock } from '../core/index.js';
import { TimerHeap, type Scheduler } from '../engine/index.js';
import { scheduleActor } from '../events/actor.js';
import type { PreparedRun, RunService } from '../runs/service.js';
import type { EventRow, NewEvent, Ports, ScheduleRow, StorePorts } from '../store/index.js';
import { MAX_CATCHUP_FIRES, planDueFires, type MissedFires } from './catchup.js';
import { FireRecorder } from './recorder.js';
import { firesBetween } from './fire.js';
import { compiledSchedule, nextFireOf, type CompiledCache } from './compiled.js';

export interface FirerDeps {
  ports: StorePorts;
  clock: Clock;
  logger: Logger;
  runs: RunService;
  scheduler: Scheduler;
  /** Fires decided per transaction (default 256). */
  batch?: number;
}

interface Due {
  tenant: string;
  scheduleId: string;
  /** The fire (next_fire_ms) this wake-up is for; stale when the schedule moved on. */
  due: number;
}

/** The schedule changed under the decision (another writer): its writes roll back, nothing is retried. */
class Superseded extends Error {}

const TERMINAL = new Set(['run.completed', 'run.failed', 'run.cancelled']);
const RETRY_MS = 1000;
/** How long the firer decides batches before it lets the event loop run (HTTP, the engine). */
const SLICE_MS = 100;

/** The runToken prefix only fires use: `POST /runs` refuses a runToken that starts with it. */
export const FIRE_TOKEN_PREFIX = 'schedule:';

/** The runToken of a schedule's fire: the same fire always gets the same token. */
export function fireRunToken(scheduleId: string, fireMs: number): string {
  return `${FIRE_TOKEN_PREFIX}${scheduleId}:${iso(fireMs)}`;
}

/** What one transaction (or one schedule's savepoint in it: `parent` the transaction's) wrote and what follows its commit. */
class Batch {
  constructor(private readonly parent?: Batch) {}

  readonly prepared: PreparedRun[] = [];
  readonly events: EventRow[] = [];
  /** Wake-ups to add after the commit: `at` when, `e` the fire it is for (a retry keeps its fire). */
  readonly rearm: Array<{ at: number; e: Due }> = [];
  readonly cancels: Array<{ tenant: string; runId: string; scheduleId: string }> = [];
  private readonly queued = new Map<string, number>();

  /** Runs of the tenant prepared earlier in this transaction (the parent's included). */
  queuedBefore(tenant: string): number {
    return (this.parent?.queuedBefore(tenant) ?? 0) + (this.queued.get(tenant) ?? 0);
  }

  add(p: PreparedRun): void {
    this.prepared.push(p);
    this.queued.set(p.row.tenant, (this.queued.get(p.row.tenant) ?? 0) + 1);
  }
}

export class ScheduleFirer {
  private readonly timers: TimerHeap<Due>;
  private readonly compiled: CompiledCache = new Map();
  private pending: Due[] = [];
  private buffered = new Map<string, { tenant: string; scheduleId: string }>();
  private flushScheduled = false;
  /** A slice of batches is being decided (one at a time, as when they ran synchronously). */
  private flushing = false;
  private stopped = false;
  private readonly batchSize: number;
  private readonly onCommitted = (rows: readonly EventRow[]) => {
    for (const r of rows) {
      if (r.scheduleId && TERMINAL.has(r.type)) this.buffered.set(`${r.tenant}\0${r.scheduleId}`, { tenant: r.tenant, scheduleId: r.scheduleId });
    }
    if (this.buffered.size > 0) this.scheduleFlush();
  };

  constructor(private readonly d: FirerDeps) {
    this.batchSize = d.batch ?? 256;
    this.timers = new TimerHeap<Due>(d.clock, (e) => {
      this.pending.push(e);
      this.scheduleFlush();
    });
  }

  /** Timer entries (one per armed schedule, plus stale ones not yet due). */
  get size(): number {
    return this.timers.size;
  }

  /** Fills the heap from the store and starts listening for ended runs (buffered fires). */
  async start(): Promise<void> {
    this.d.scheduler.events.on('committed', this.onCommitted);
    for (const row of await this.d.ports.schedules.armed()) this.arm(row);
  }

  /** A schedule was created, replaced, paused, resumed or deleted: wake up for its next fire (a failed read is logged: the next start arms it). */
  async changed(tenant: string, scheduleId: string): Promise<void> {
    this.compiled.delete(`${tenant}\0${scheduleId}`);
    try {
      const row = await this.d.ports.schedules.get(tenant, scheduleId);
      if (row) this.arm(row);
    } catch (err) {
      this.d.logger.error({ err, tenant, scheduleId }, 'schedules: reading a changed schedule failed; it is armed at the next start');
    }
  }

  stop(): void {
    this.stopped = true;
    this.timers.stop();
    this.d.scheduler.events.off('committed', this.onCommitted);
  }

  private arm(row: ScheduleRow): void {
    if (row.paused) return;
    if (row.nextFireMs !== null) this.timers.add(row.nextFireMs, { tenant: row.tenant, scheduleId: row.scheduleId, due: row.nextFireMs });
    if (row.bufferedFireMs !== null) {
      this.buffered.set(`${row.tenant}\0${row.scheduleId}`, { tenant: row.tenant, scheduleId: row.scheduleId });
      this.scheduleFlush();
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing || this.stopped) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushing = true;
      void this.slice().finally(() => {
        this.flushing = false;
        if (this.pending.length > 0 || this.buffered.size > 0) this.scheduleFlush();
      });
    });
  }

  /** Batch after batch for up to SLICE_MS (fires come first), then the event loop's turn. */
  private async slice(): Promise<void> {
    const until = performance.now() + SLICE_MS;
    while ((await this.flush()) && performance.now() < until);
  }

  /** Decides one batch of due fires; true when it did (more may be pending). */
  private async flush(): Promise<boolean> {
    if (this.stopped) return false;
    const chunk = this.pending.splice(0, this.batchSize);
    const buffered = chunk.length < this.batchSize ? [...this.buffered.values()] : [];
    for (const b of buffered) this.buffered.delete(`${b.tenant}\0${b.scheduleId}`);
    if (chunk.length === 0 && buffered.length === 0) return false;
    const batch = new Batch();
    const { ports, scheduler } = this.d;
    try {
      await ports.transaction(async (tx) => {
        const now = this.d.clock.now();
        for (const e of chunk) await this.isolated(tx, batch, (local) => this.decide(tx, local, e, now), () => batch.rearm.push({ at: now + RETRY_MS, e }));
        for (const b of buffered) await this.isolated(tx, batch, (local) => this.startBuffered(tx, local, b.tenant, b.scheduleId, now), () => undefined);
      });
    } catch (err) {
      this.d.logger.error({ err }, 'schedules: deciding due fires failed; trying again');
      for (const e of chunk) this.timers.add(this.d.clock.now() + RETRY_MS, e);
      return false;
    }
    scheduler.admitted(batch.prepared.map((p) => p.run), batch.events);
    for (const r of batch.rearm) this.timers.add(r.at, r.e);
    for (const c of batch.cancels) {
      this.d.runs.cancel(c.tenant, c.runId, `schedule ${c.scheduleId}: overlap cancel_other`, undefined, scheduleActor(c.scheduleId)).catch((err: unknown) => {
        this.d.logger.warn({ err, runId: c.runId }, 'schedules: cancelling the active run (cancel_other) failed');
      });
    }
    return true;
  }

  /**
   * One schedule's part of the batch, in a savepoint: when it throws, only its writes roll back
   * (`undecided` re-arms it) and the rest of the batch goes on.
   */
  private async isolated(tx: Ports, batch: Batch, fn: (local: Batch) => Promise<void>, undecided: () => void): Promise<void> {
    const local = new Batch(batch);
    try {
      await tx.savepoint(() => fn(local));
    } catch (err) {
      if (err instanceof Superseded) return;
      if (!(err instanceof ApiError && err.code === 'UNAVAILABLE')) this.d.logger.error({ err }, 'schedules: a fire could not be decided; trying again');
      if (!this.stopped) undecided();
      return;
    }
    for (const p of local.prepared) batch.add(p);
    batch.events.push(...local.events);
    batch.rearm.push(...local.rearm);
    batch.cancels.push(...local.cancels);
  }

  private async decide(tx: Ports, batch: Batch, e: Due, now: number): Promise<void> {
    const row = await tx.schedules.get(e.tenant, e.scheduleId);
    if (!row || row.paused || row.nextFireMs !== e.due) return; // replaced, paused, deleted, or decided already
    const c = compiledSchedule(this.compiled, row);
    const first = row.nextFireMs;
    const horizon = Math.min(now, c.endMs ?? Infinity);
    const window = firesBetween(c.cron, c.zone, first - 1, horizon, MAX_CATCHUP_FIRES);
    let older: MissedFires | null = null;
    if (window.omitted > 0) {
      const last = firesBetween(c.cron, c.zone, first - 1, window.fires[0]! - 1, 1).fires[0] ?? first;
      older = { count: window.omitted, firstMs: first, lastMs: last };
    }
    const plan = planDueFires({ policy: c.spec.catchup.policy, windowMs: c.windowMs }, window.fires, older, now);
    const next = nextFireOf(c, Math.max(now, first));
    const state = new FireRecorder(row);
    if (plan.missed) state.missed(plan.missed, 'downtime');
    let active = await tx.schedules.activeRuns(row.tenant, row.scheduleId);
    let bufferedFire = row.bufferedFireMs;
    for (const fire of plan.start) {
      if (active.length > 0 && c.spec.overlap !== 'allow_all') {
        if (c.spec.overlap === 'skip' || (c.spec.overlap === 'buffer_one' && bufferedFire !== null)) {
          state.missed({ count: 1, firstMs: fire, lastMs: fire }, 'overlap');
          continue;
        }
        if (bufferedFire !== null) state.missed({ count: 1, firstMs: bufferedFire, lastMs: bufferedFire }, 'overlap');
        if (c.spec.overlap === 'cancel_other') for (const runId of active) batch.cancels.push({ tenant: row.tenant, runId, scheduleId: row.scheduleId });
        bufferedFire = fire;
        state.last(fire, 'buffered', null, null);
        continue;
      }
      const runId = await this.startRun(tx, batch, state, row, fire);
      if (runId) active = [...active, runId];
    }
    if (!(await tx.schedules.recordFire(row.tenant, row.scheduleId, { nextFireMs: row.nextFireMs, bufferedFireMs: row.bufferedFireMs }, state.fireState(next, bufferedFire)))) {
      throw new Superseded();
    }
    batch.events.push(...(await tx.events.append(state.events(row, now))));
    if (next !== null) batch.rearm.push({ at: next, e: { tenant: row.tenant, scheduleId: row.scheduleId, due: next } });
  }

  /** A buffered fire (buffer_one, cancel_other) starts once no run of the schedule is active. */
  private async startBuffered(tx: Ports, batch: Batch, tenant: string, scheduleId: string, now: number): Promise<void> {
    const row = await tx.schedules.get(tenant, scheduleId);
    if (!row || row.paused || row.bufferedFireMs === null) return;
    if ((await tx.schedules.activeRuns(tenant, scheduleId)).length > 0) return; // the next ended run wakes it again
    const state = new FireRecorder(row);
    const fire = row.bufferedFireMs;
    const runId = await this.startRun(tx, batch, state, row, fire);
    const last = state.lastFire ?? { status: 'started', runId, error: null };
    if (!(await tx.schedules.takeBuffered(tenant, scheduleId, fire, last.status, last.runId, last.error))) throw new Superseded();
    batch.events.push(...(await tx.events.append(state.events(row, now))));
  }

  /** Prepares the fire's run (refusals recorded as failed fires); the run id, or null. */
  private async startRun(tx: Ports, batch: Batch, state: FireRecorder, row: ScheduleRow, fire: number): Promise<string | null> {
    const c = compiledSchedule(this.compiled, row);
    const req = { dagId: c.spec.dagId, version: c.spec.version, inputs: c.spec.inputs, runToken: fireRunToken(row.scheduleId, fire) };
    let p: Awaited<ReturnType<RunService['prepare']>>;
    try {
      p = await this.d.runs.prepare(tx, row.tenant, req, randomHex(16), { actor: scheduleActor(row.scheduleId), scheduleId: row.scheduleId, scheduledMs: fire }, batch.queuedBefore(row.tenant));
    } catch (err) {
      if (!(err instanceof ApiError) || err.code === 'UNAVAILABLE') throw err;
      state.failed(fire, err);
      return null;
    }
    if ('existing' in p) {
      state.last(fire, 'started', p.existing.runId, null);
      return null;
    }
    batch.add(p);
    batch.events.push(await this.d.runs.insert(tx, p));
    state.fired(fire, p.row.runId);
    return p.row.runId;
  }
}
