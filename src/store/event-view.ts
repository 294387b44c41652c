/**
 * An event's record and its API view (CONTRACT §6): the event types, the stored row, and the
 * view the API shows, exports and hashes.
 *
 * @example
 * eventView(row); // { seq, type, tenant, dagId, runId, status, timestamp, traceId, ... }
 */
import type { Row } from './rows.js';
import type { events } from './schema.js';

/**
 * Every event type: the run events of CONTRACT §6, the schedule extension types, and the
 * audit extension types of DAG, schedule and retention changes (docs/API.md "Actors"; `runId`
 * absent; `dagId` '' on retention events, which concern every DAG of the tenant).
 */
export const EVENT_TYPES = [
  'run.started', 'run.updated', 'step.updated', 'run.completed', 'run.failed', 'run.cancelled',
  'schedule.fired', 'schedule.missed',
  'dag.published', 'dag.disabled',
  'schedule.created', 'schedule.replaced', 'schedule.paused', 'schedule.resumed', 'schedule.deleted',
  'retention.changed', 'retention.applied',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/**
 * An event as stored (schema `events`), its type one of {@link EVENT_TYPES}. `scheduleId` is the
 * schedule of a scheduled run's events and of schedule events, `scheduledMs` a schedule event's
 * fire time, `detail` the canonical JSON of the extension fields.
 */
export type EventRow = Omit<Row<typeof events>, 'type'> & { type: EventType };

type Optional = 'scheduleId' | 'scheduledMs' | 'detail';
export type NewEvent = Omit<EventRow, 'seq' | 'prevHash' | 'hash' | Optional> & Partial<Pick<EventRow, Optional>>;
/** An event with its seq (chain links optional): what the view and the hash are made of. */
export type NumberedEvent = NewEvent & { seq: number; prevHash?: string; hash?: string };

/** The event as the API shows it (and as it is hashed). */
export interface EventView {
  seq: number;
  type: EventType;
  tenant: string;
  dagId: string;
  /** Absent on a schedule event that started no run. */
  runId?: string;
  stepId?: string;
  scheduleId?: string;
  scheduledUtc?: string;
  status: string;
  timestamp: string;
  traceId: string;
  /** Schedule events (their `detail`): see docs/SCHEDULES.md "Events". */
  missedCount?: number;
  lastScheduledUtc?: string;
  reason?: string;
  errorCode?: string;
  errorMessage?: string;
  manual?: boolean;
  /** Who caused it (docs/API.md "Actors"): on the events a request or a schedule caused. */
  actor?: string;
  /** A cancel's events: the reason given. */
  cancelReason?: string;
  /** `dag.published` / `dag.disabled`: the version. */
  version?: string;
  /** `retention.changed`: the tenant's new policy (a null field left out). */
  maxAgeDays?: number;
  keepLast?: number;
  /** `retention.applied`: what the pass pruned of the tenant. */
  pruned?: { runs: number; steps: number; attempts: number; idempotency: number; events: number };
}

export function eventView(e: NumberedEvent): EventView {
  // One object literal (one shape) for most events; extension fields first, then the same
  // fields over them (their keys keep their place, as a spread's would).
  const core: EventView = { seq: e.seq, type: e.type, tenant: e.tenant, dagId: e.dagId, status: e.status, timestamp: isoOfMs(e.tsMs), traceId: e.traceId };
  const v: EventView = e.detail ? Object.assign(JSON.parse(e.detail) as Partial<EventView>, core) : core;
  if (e.runId !== '') v.runId = e.runId;
  if (e.stepId !== null) v.stepId = e.stepId;
  if (e.scheduleId) v.scheduleId = e.scheduleId;
  if (e.scheduledMs != null) v.scheduledUtc = new Date(e.scheduledMs).toISOString();
  return v;
}

let isoMs = NaN;
let isoText = '';
/** ISO-8601 UTC (ms) of a timestamp, memoised for the last value (the events of one commit share it). */
export function isoOfMs(ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** An exported event: the view plus its chain links (`prevHash`, `hash`). */
export function eventExportRecord(e: EventRow): EventView & { prevHash: string; hash: string } {
  return { ...eventView(e), prevHash: e.prevHash, hash: e.hash };
}
