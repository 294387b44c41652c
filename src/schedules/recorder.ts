/**
 * One schedule's decisions within a firer transaction: its new `lastFire`, how many fires were
 * missed, and the `schedule.fired` / `schedule.missed` events to append.
 *
 * @example
 * const rec = new FireRecorder(row);
 * rec.fired(fireMs, runId);
 * if (await tx.schedules.recordFire(tenant, id, expected, rec.fireState(next, null))) await tx.events.append(rec.events(row, now));
 */
import { iso, randomHex, type ApiError } from '../core/index.js';
import type { FireState, NewEvent, ScheduleRow } from '../store/index.js';
import type { MissedFires } from './catchup.js';
import type { LastFireStatus } from './model.js';

type LastFire = { fireMs: number; status: LastFireStatus; runId: string | null; error: string | null };

/** Collects one schedule's decisions: its `lastFire`, missed counts and events. */
export class FireRecorder {
  lastFire: LastFire | null = null;
  private missedAdd = 0;
  private missedLast: number | null = null;
  private readonly pendingEvents: Array<Omit<NewEvent, 'tenant' | 'dagId' | 'traceId' | 'tsMs' | 'stepId'>> = [];

  constructor(private readonly row: ScheduleRow) {}

  last(fireMs: number, status: LastFireStatus, runId: string | null, error: string | null): void {
    if (!this.lastFire || fireMs >= this.lastFire.fireMs) this.lastFire = { fireMs, status, runId, error };
  }

  fired(fireMs: number, runId: string): void {
    this.last(fireMs, 'started', runId, null);
    this.pendingEvents.push({ type: 'schedule.fired', runId, status: 'started', scheduleId: this.row.scheduleId, scheduledMs: fireMs });
  }

  missed(m: MissedFires, reason: 'downtime' | 'overlap'): void {
    this.count(m);
    this.last(m.lastMs, reason === 'overlap' ? 'skipped' : 'missed', null, null);
    const detail: Record<string, unknown> = { missedCount: m.count, reason };
    if (m.lastMs !== m.firstMs) detail.lastScheduledUtc = iso(m.lastMs);
    this.pendingEvents.push({ type: 'schedule.missed', runId: '', status: reason === 'overlap' ? 'skipped' : 'missed', scheduleId: this.row.scheduleId, scheduledMs: m.firstMs, detail: JSON.stringify(detail) });
  }

  failed(fireMs: number, err: ApiError): void {
    this.count({ count: 1, firstMs: fireMs, lastMs: fireMs });
    this.last(fireMs, 'failed', null, `${err.code}: ${err.message}`);
    const detail = { missedCount: 1, reason: 'refused', errorCode: err.code, errorMessage: err.message };
    this.pendingEvents.push({ type: 'schedule.missed', runId: '', status: 'failed', scheduleId: this.row.scheduleId, scheduledMs: fireMs, detail: JSON.stringify(detail) });
  }

  private count(m: MissedFires): void {
    this.missedAdd += m.count;
    this.missedLast = Math.max(this.missedLast ?? m.lastMs, m.lastMs);
  }

  fireState(nextFireMs: number | null, bufferedFireMs: number | null): FireState {
    const l = this.lastFire;
    return {
      nextFireMs,
      bufferedFireMs,
      lastFireMs: l ? l.fireMs : this.row.lastFireMs,
      lastFireStatus: l ? l.status : this.row.lastFireStatus,
      lastFireRunId: l ? l.runId : this.row.lastFireRunId,
      lastFireError: l ? l.error : this.row.lastFireError,
      missedAdd: this.missedAdd,
      missedLastMs: this.missedLast,
    };
  }

  events(row: ScheduleRow, now: number): NewEvent[] {
    const traceId = randomHex(16);
    return this.pendingEvents.map((e) => ({ ...e, tenant: row.tenant, dagId: row.dagId, stepId: null, tsMs: now, traceId }));
  }
}
