/**
 * Schedules as a resource (CONTRACT §11): create (idempotent by normal form), list, get with
 * `upcoming`, replace, pause, resume, trigger, delete, export. Every change commits in the
 * caller's transaction (with the Idempotency-Key record) and then tells the firing scheduler.
 *
 * @example
 * const { schedule, created } = await schedules.create('demo', { doc }, (fn) => ports.transaction(fn));
 * (await schedules.get('demo', 'nightly')).upcoming; // next 5 fires, UTC and local
 */
import { ApiError, iso, isoOrNull, type Clock, type Transact, type TxHandle } from '../core/index.js';
import type { DagService } from '../dags/service.js';
import { actorDetail, systemAudit, type Audit } from '../events/actor.js';
import type { PlanCache } from '../engine/index.js';
import type { RunService } from '../runs/service.js';
import { runView, type RunView } from '../runs/views.js';
import { txPorts, type EventRow, type Ports, type ScheduleListFilter, type SchedulePort, type ScheduleRow, type StorePorts } from '../store/index.js';
import { compiledSchedule, nextFireOf, type CompiledCache } from './compiled.js';
import { createSchedule, installSchedule, prepareSchedule, readSignedSchedule, scheduleEvent, type IncomingSchedule } from './install.js';
import type { ScheduleFirer } from './firer.js';
import { formatLocal, type FireTime } from './upcoming.js';
import { nextFires } from './fire.js';
import type { LastFireStatus, ScheduleSpec } from './model.js';

export type { IncomingSchedule };

export interface ScheduleServiceDeps {
  ports: StorePorts;
  clock: Clock;
  dags: DagService;
  plans: PlanCache;
  runs: RunService;
  firer: ScheduleFirer;
}

/** The API view of a schedule. */
export interface ScheduleView extends ScheduleSpec {
  createdUtc: string;
  updatedUtc: string;
  /** Who created it and who made the change `updatedUtc` records (docs/API.md "Actors"); null when not recorded. */
  createdBy: string | null;
  updatedBy: string | null;
  nextFireUtc: string | null;
  lastFire: { fireUtc: string; status: LastFireStatus; runId?: string; error?: string } | null;
  missed: { count: number; lastUtc: string | null };
  bufferedFireUtc?: string;
  signedBy?: string[];
  upcoming?: FireTime[];
}

export function scheduleView(r: ScheduleRow): ScheduleView {
  const spec = JSON.parse(r.spec) as ScheduleSpec;
  const v: ScheduleView = {
    ...spec,
    paused: r.paused === 1,
    createdUtc: iso(r.createdMs),
    updatedUtc: iso(r.updatedMs),
    createdBy: r.createdBy,
    updatedBy: r.updatedBy,
    nextFireUtc: isoOrNull(r.nextFireMs),
    lastFire: null,
    missed: { count: r.missedCount, lastUtc: isoOrNull(r.missedLastMs) },
  };
  if (r.lastFireMs !== null) {
    v.lastFire = { fireUtc: iso(r.lastFireMs), status: (r.lastFireStatus ?? 'started') as LastFireStatus };
    if (r.lastFireRunId) v.lastFire.runId = r.lastFireRunId;
    if (r.lastFireError) v.lastFire.error = r.lastFireError;
  }
  if (r.bufferedFireMs !== null) v.bufferedFireUtc = iso(r.bufferedFireMs);
  const signedBy = JSON.parse(r.signedBy) as string[];
  if (signedBy.length > 0) v.signedBy = signedBy;
  return v;
}

/** What {@link ScheduleService.create} did: `created` false when the same normal form was already stored. */
export interface ScheduleCreated {
  schedule: ScheduleView;
  created: boolean;
}

/** Export records (`scheduleId ASC`), one per schedule, with the tenant; read a page at a time. */
export async function* scheduleExportRecords(schedules: SchedulePort, tenant: string, filter: { dagId?: string; paused?: boolean }, batch = 200): AsyncGenerator<Record<string, unknown>> {
  let after: string | undefined;
  for (;;) {
    const rows = await schedules.list({ tenant, ...filter, after, limit: batch });
    for (const r of rows) yield { tenant: r.tenant, ...scheduleView(r) };
    if (rows.length < batch) return;
    after = rows[rows.length - 1]!.scheduleId;
  }
}

export class ScheduleService {
  private readonly compiled: CompiledCache = new Map();

  constructor(readonly d: ScheduleServiceDeps) {}

  /**
   * Creates a schedule (`created`); the same normal form again is not `created` (nothing
   * changes); another document under the same id throws `SCHEDULE_EXISTS`.
   */
  async create(tenant: string, incoming: IncomingSchedule, tx: Transact<ScheduleCreated>, who: Audit = systemAudit()): Promise<ScheduleCreated> {
    const prepared = await this.prepare(tenant, incoming);
    const events: EventRow[] = [];
    const out = await tx(async (h) => {
      const { stored, event } = await createSchedule(this.d, txPorts(h), prepared, who, 'PUT replaces it');
      if (event) events.push(event);
      return { schedule: scheduleView(stored), created: event !== undefined };
    });
    this.d.runs.admit([], events);
    if (out.created) await this.d.firer.changed(tenant, prepared.spec.scheduleId);
    return out;
  }

  /** Replaces the document (`updatedUtc` changes; the fire history stays; the next fire is recomputed from now). */
  async replace(tenant: string, scheduleId: string, incoming: IncomingSchedule, tx: Transact<ScheduleView>, who: Audit = systemAudit()): Promise<ScheduleView> {
    if (incoming.doc.scheduleId !== scheduleId) {
      throw new ApiError('VALIDATION_FAILED', 'body.scheduleId: must equal the path\'s scheduleId', { field: 'body.scheduleId' });
    }
    const { row } = await this.prepare(tenant, incoming);
    const events: EventRow[] = [];
    const view = await tx(async (h) => {
      const t = txPorts(h);
      await this.row(tenant, scheduleId, t);
      await t.schedules.replace({ ...row, updatedBy: who.actor });
      const now = await this.row(tenant, scheduleId, t);
      events.push(await scheduleEvent(this.d, t, now, 'schedule.replaced', who));
      return scheduleView(now);
    });
    this.d.runs.admit([], events);
    await this.d.firer.changed(tenant, scheduleId);
    return view;
  }

  /**
   * Pauses (no fire until resumed; a buffered fire is dropped) or resumes (the next fire is the
   * first after now: fires while paused are not caught up). Idempotent: the schedule.
   */
  async setPaused(tenant: string, scheduleId: string, paused: boolean, tx: Transact<ScheduleView>, who: Audit = systemAudit()): Promise<ScheduleView> {
    const events: EventRow[] = [];
    const view = await tx(async (h) => {
      const t = txPorts(h);
      const row = await this.row(tenant, scheduleId, t);
      if ((row.paused === 1) !== paused) {
        const now = this.d.clock.now();
        const next = paused ? null : nextFireOf(compiledSchedule(this.compiled, row), now);
        await t.schedules.setPaused(tenant, scheduleId, paused, next, now, who.actor);
        events.push(await scheduleEvent(this.d, t, { ...row, paused: paused ? 1 : 0 }, paused ? 'schedule.paused' : 'schedule.resumed', who));
      }
      return scheduleView(await this.row(tenant, scheduleId, t));
    });
    this.d.runs.admit([], events);
    await this.d.firer.changed(tenant, scheduleId);
    return view;
  }

  /**
   * One run now, outside the cron (also while paused; the overlap policy does not apply — it
   * is an operator's explicit request): the new run, which carries `scheduleId` and
   * `scheduledUtc` (now); a `schedule.fired` event with `manual: true`.
   */
  async trigger(tenant: string, scheduleId: string, tx: Transact<RunView>, who: Audit = systemAudit()): Promise<RunView> {
    const { actor, traceId } = who;
    const row = await this.row(tenant, scheduleId);
    const spec = compiledSchedule(this.compiled, row).spec;
    const now = this.d.clock.now();
    const p = await this.d.runs.prepare(this.d.ports, tenant, { dagId: spec.dagId, version: spec.version, inputs: spec.inputs }, traceId, { actor, scheduleId, scheduledMs: now });
    if ('existing' in p) throw new ApiError('INTERNAL', 'a trigger has no runToken');
    const events: EventRow[] = [];
    const run = await tx(async (h) => {
      const t = txPorts(h);
      await this.row(tenant, scheduleId, t);
      events.push(await this.d.runs.insert(t, p));
      events.push(...(await t.events.append([{
        tenant, type: 'schedule.fired', dagId: spec.dagId, runId: p.row.runId, stepId: null, status: 'started',
        tsMs: now, traceId, scheduleId, scheduledMs: now, detail: actorDetail(actor, { manual: true }),
      }])));
      return runView(p.row, p.steps, []);
    });
    this.d.runs.admit([p], events);
    return run;
  }

  /** Deletes the schedule; its runs stay and keep their `scheduleId`. */
  async delete(tenant: string, scheduleId: string, tx: Transact<void>, who: Audit = systemAudit()): Promise<void> {
    const events: EventRow[] = [];
    await tx(async (h) => {
      const t = txPorts(h);
      const row = await this.row(tenant, scheduleId, t);
      await t.schedules.delete(tenant, scheduleId);
      events.push(await scheduleEvent(this.d, t, row, 'schedule.deleted', who));
    });
    this.d.runs.admit([], events);
    await this.d.firer.changed(tenant, scheduleId);
  }

  /** A page of a tenant's schedules (`GET /schedules`): scheduleId ASC. */
  list(filter: ScheduleListFilter): Promise<ScheduleRow[]> {
    return this.d.ports.schedules.list(filter);
  }

  /** A tenant's schedules as exported (`GET /schedules:export`); see {@link scheduleExportRecords}. */
  exportRecords(tenant: string, filter: { dagId?: string; paused?: boolean }): AsyncGenerator<Record<string, unknown>> {
    return scheduleExportRecords(this.d.ports.schedules, tenant, filter);
  }

  /** The schedule with its next 5 fires (UTC and local; none while paused or after endUtc). */
  async get(tenant: string, scheduleId: string): Promise<ScheduleView> {
    const row = await this.row(tenant, scheduleId);
    const c = compiledSchedule(this.compiled, row);
    const v = scheduleView(row);
    const fires = row.paused === 1 ? [] : nextFires(c.cron, c.zone, Math.max(this.d.clock.now(), (c.startMs ?? 0) - 1), 5);
    v.upcoming = fires.filter((t) => c.endMs === null || t <= c.endMs).map((t) => ({ utc: iso(t), local: formatLocal(t, c.zone) }));
    return v;
  }

  /**
   * Stores a preloaded document (`--dags-dir DIR/<tenant>/*.schedule.json`): its signature
   * checked like a DAG's (signature.ts), then created, or replaced when the file differs from
   * what is stored (the file is the source of truth at each start), or left unchanged.
   */
  async preload(tenant: string, raw: unknown): Promise<'created' | 'replaced' | 'unchanged'> {
    const { trust, allowUnsigned } = this.d.dags.deps;
    const incoming = readSignedSchedule(raw, trust.forTenant(tenant), { allowUnsigned });
    const id = incoming.doc.scheduleId;
    const existing = await this.d.ports.schedules.get(tenant, id);
    const tx = <T>(fn: (tx: TxHandle) => Promise<T>): Promise<T> => this.d.ports.transaction(fn);
    if (!existing) {
      await this.create(tenant, incoming, tx);
      return 'created';
    }
    const { row } = await this.prepare(tenant, incoming);
    if (existing.specHash === row.specHash && existing.signedBy === row.signedBy) return 'unchanged';
    await this.replace(tenant, id, incoming, tx);
    return 'replaced';
  }

  /** A bundle's schedule, in the import's transaction (`tx`; install.ts): created, or unchanged, or 409. */
  install(tx: Ports, tenant: string, incoming: IncomingSchedule): Promise<{ created: boolean; event?: EventRow }> {
    return installSchedule(this.d, tx, tenant, incoming);
  }

  /** After a bundle import committed: the firer arms the schedules it created. */
  committed(tenant: string, scheduleIds: readonly string[]): void {
    for (const id of scheduleIds) void this.d.firer.changed(tenant, id);
  }

  /** The tenant's schedule (404 otherwise), read in `tx` when given. */
  async row(tenant: string, scheduleId: string, tx: Ports = this.d.ports): Promise<ScheduleRow> {
    const row = await tx.schedules.get(tenant, scheduleId);
    if (!row) throw new ApiError('NOT_FOUND', 'schedule not found');
    return row;
  }

  /** Checks a document against the tenant's DAGs (422 DAG_INVALID) and builds its row. */
  private prepare(tenant: string, incoming: IncomingSchedule): Promise<{ spec: ScheduleSpec; row: ScheduleRow }> {
    return prepareSchedule(this.d, this.d.ports.catalog, tenant, incoming);
  }
}
