/**
 * The event log (CONTRACT §6): one row per state change, written in the same transaction as
 * the change, numbered per tenant and chained by hash.
 *
 * Numbering: `seq` is 1 for a tenant's first event and then increases by exactly 1. The last
 * `(seq, hash)` of each tenant is kept in memory after its first load (one writer connection,
 * so nobody else appends).
 *
 * Hash chain, per tenant:
 *
 *     hash = sha256_hex( prevHash + JCS(event) )
 *
 * where `prevHash` is the previous event's `hash` of the same tenant (`""` for seq 1), `+` is
 * string concatenation (UTF-8), and `event` is the event exactly as the API shows it:
 * `{seq, type, tenant, dagId, runId, stepId?, scheduleId?, status, timestamp, traceId}` (`stepId`
 * absent for run events, `scheduleId` present for the events of runs a schedule started,
 * `timestamp` ISO-8601 UTC with ms) — and for the extension types `schedule.fired` and
 * `schedule.missed` also `scheduledUtc` and their own fields (`missedCount`, `lastScheduledUtc`,
 * `errorCode`, `errorMessage`), with `runId` absent when no run was started. JCS is RFC 8785
 * canonical JSON. A verifier replays a tenant's events by `seq` and recomputes each hash over
 * every field of the exported event except `prevHash` and `hash`.
 *
 * Storage: `run_id` is '' for a schedule event without a run (and for DAG and schedule audit
 * events); `detail` holds the extension fields as canonical JSON — the schedule events' own,
 * and the `actor` (plus a cancel's `cancelReason`, a DAG event's `version`) of every event a
 * request or a schedule caused (docs/API.md "Actors"), so the actor is inside the hash.
 *
 * @example
 * store.tx(() => store.events.append({ tenant, type: 'run.started', dagId, runId, stepId: null,
 *   status: 'queued', tsMs: Date.now(), traceId }));
 */
import type Database from 'better-sqlite3';
import * as crypto from 'node:crypto';
import { canonicalJson } from '../core/hash.js';

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

export interface EventRow {
  tenant: string;
  seq: number;
  type: EventType;
  dagId: string;
  runId: string;
  stepId: string | null;
  status: string;
  tsMs: number;
  traceId: string;
  /** The schedule of a scheduled run's events and of schedule events; null otherwise. */
  scheduleId: string | null;
  /** Schedule events: the fire time. */
  scheduledMs: number | null;
  /** Schedule events: canonical JSON of their other fields. */
  detail: string | null;
  prevHash: string;
  hash: string;
}

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
  const v: EventView = {
    ...(e.detail ? (JSON.parse(e.detail) as Partial<EventView>) : {}),
    seq: e.seq,
    type: e.type,
    tenant: e.tenant,
    dagId: e.dagId,
    status: e.status,
    timestamp: new Date(e.tsMs).toISOString(),
    traceId: e.traceId,
  };
  if (e.runId !== '') v.runId = e.runId;
  if (e.stepId !== null) v.stepId = e.stepId;
  if (e.scheduleId) v.scheduleId = e.scheduleId;
  if (e.scheduledMs != null) v.scheduledUtc = new Date(e.scheduledMs).toISOString();
  return v;
}

/** An exported event: the view plus its chain links (`prevHash`, `hash`). */
export function eventExportRecord(e: EventRow): EventView & { prevHash: string; hash: string } {
  return { ...eventView(e), prevHash: e.prevHash, hash: e.hash };
}

let isoMs = NaN;
let isoText = '';
/** ISO-8601 of a ms timestamp, memoised for the last value (events of one commit share it). */
function isoOf(ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/**
 * RFC 8785 canonical JSON of an event's view, written out directly (keys in code-unit order;
 * JCS serialises strings and integers exactly as `JSON.stringify` does). Equal to
 * `canonicalJson(eventView(e))`, about 10× faster. Schedule events (rare) take the general path.
 */
export function eventCanonicalJson(e: NumberedEvent): string {
  if (e.detail != null || e.scheduledMs != null || e.runId === '') return canonicalJson(eventView(e));
  const s = JSON.stringify;
  const f = runFragments(e);
  return (
    `${f.head}${e.seq},"status":${s(e.status)}` +
    (e.stepId !== null ? `,"stepId":${s(e.stepId)}` : '') +
    `${f.tenant}"${isoOf(e.tsMs)}",${f.trace}${s(e.type)}}`
  );
}

interface Fragments {
  runId: string;
  dagId: string;
  tenantId: string;
  traceId: string;
  scheduleId: string | null | undefined;
  head: string;
  tenant: string;
  trace: string;
}
let frag: Fragments = { runId: '', dagId: '', tenantId: '', traceId: '', scheduleId: null, head: '', tenant: '', trace: '' };

/** The serialised run-level fields, memoised for the last run (its events come in streaks). */
function runFragments(e: NumberedEvent): Fragments {
  if (frag.runId !== e.runId || frag.dagId !== e.dagId || frag.tenantId !== e.tenant || frag.traceId !== e.traceId || frag.scheduleId !== e.scheduleId) {
    const s = JSON.stringify;
    frag = {
      runId: e.runId,
      dagId: e.dagId,
      tenantId: e.tenant,
      traceId: e.traceId,
      scheduleId: e.scheduleId,
      // "scheduleId" sorts between "runId" and "seq".
      head: `{"dagId":${s(e.dagId)},"runId":${s(e.runId)},${e.scheduleId ? `"scheduleId":${s(e.scheduleId)},` : ''}"seq":`,
      tenant: `,"tenant":${s(e.tenant)},"timestamp":`,
      trace: `"traceId":${s(e.traceId)},"type":`,
    };
  }
  return frag;
}

type OneShotHash = (algorithm: string, data: string, encoding: 'hex') => string;
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;

function sha256(text: string): string {
  return oneShot ? oneShot('sha256', text, 'hex') : crypto.createHash('sha256').update(text).digest('hex');
}

/** `sha256_hex(prevHash + JCS(event))`: see the module documentation. */
export function eventHash(prevHash: string, e: NumberedEvent): string {
  return sha256(prevHash + eventCanonicalJson(e));
}

/** Rows per multi-row INSERT (fewer statement executions per group commit). */
const CHUNK = 32;
const ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
const INSERT = 'insert into events (tenant, seq, type, dag_id, run_id, step_id, status, ts_ms, trace_id, schedule_id, scheduled_ms, detail, prev_hash, hash)';

const COLS = `tenant, seq, type, dag_id as dagId, run_id as runId, step_id as stepId, status, ts_ms as tsMs,
  trace_id as traceId, schedule_id as scheduleId, scheduled_ms as scheduledMs, detail, prev_hash as prevHash, hash`;

export class EventLog {
  private readonly heads = new Map<string, { seq: number; hash: string }>();
  private readonly headStmt;
  private readonly insertStmt;
  private readonly insertManyStmt;
  private readonly sinceStmt;
  private readonly ofRunStmt;
  private readonly checkpointStmt;
  private readonly setCheckpointStmt;

  constructor(db: Database.Database) {
    this.headStmt = db.prepare(`select seq, hash from events where tenant=? order by seq desc limit 1`);
    this.checkpointStmt = db.prepare(`select seq, hash from event_checkpoints where tenant=?`);
    this.setCheckpointStmt = db.prepare(
      `insert into event_checkpoints (tenant, seq, hash, pruned_ms) values (?, ?, ?, ?)
       on conflict (tenant) do update set seq=excluded.seq, hash=excluded.hash, pruned_ms=excluded.pruned_ms`,
    );
    this.insertStmt = db.prepare(`${INSERT} values ${ROW}`);
    this.insertManyStmt = db.prepare(`${INSERT} values ${Array<string>(CHUNK).fill(ROW).join(', ')}`);
    this.sinceStmt = db.prepare(`select ${COLS} from events where tenant=? and seq > ? order by seq limit ?`);
    this.ofRunStmt = db.prepare(`select ${COLS} from events where tenant=? and run_id=? order by seq`);
  }

  /** Last `(seq, hash)` of a tenant (`{0, ''}` before its first event); kept current by appends. */
  head(tenant: string): { seq: number; hash: string } {
    const h = this.headRef(tenant);
    return { seq: h.seq, hash: h.hash };
  }

  private headRef(tenant: string): { seq: number; hash: string } {
    let h = this.heads.get(tenant);
    if (!h) {
      // A tenant whose every event was pruned continues from its checkpoint, never from seq 1.
      h = (this.headStmt.get(tenant) as { seq: number; hash: string } | undefined) ?? this.checkpoint(tenant) ?? { seq: 0, hash: '' };
      this.heads.set(tenant, h);
    }
    return h;
  }

  /**
   * Appends one event: call inside the transaction of the change it describes. If that
   * transaction rolls back, call {@link invalidate} so the next append reloads the head.
   */
  append(e: NewEvent): EventRow {
    return this.appendMany([e])[0]!;
  }

  /**
   * Appends events in order (seq and hash chain per tenant), with multi-row inserts. Call
   * inside the transaction of the changes they describe (see {@link append}).
   */
  appendMany(events: readonly NewEvent[]): EventRow[] {
    const rows = new Array<EventRow>(events.length);
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const head = this.headRef(e.tenant);
      const row: EventRow = {
        tenant: e.tenant,
        seq: head.seq + 1,
        type: e.type,
        dagId: e.dagId,
        runId: e.runId,
        stepId: e.stepId,
        status: e.status,
        tsMs: e.tsMs,
        traceId: e.traceId,
        scheduleId: e.scheduleId ?? null,
        scheduledMs: e.scheduledMs ?? null,
        detail: e.detail ?? null,
        prevHash: head.hash,
        hash: '',
      };
      row.hash = eventHash(head.hash, row);
      head.seq = row.seq;
      head.hash = row.hash;
      rows[i] = row;
    }
    let i = 0;
    const params: unknown[] = [];
    for (; i + CHUNK <= rows.length; i += CHUNK) {
      params.length = 0;
      for (let k = i; k < i + CHUNK; k++) pushRow(params, rows[k]!);
      this.insertManyStmt.run(params);
    }
    for (; i < rows.length; i++) {
      params.length = 0;
      pushRow(params, rows[i]!);
      this.insertStmt.run(params);
    }
    return rows;
  }

  /** Forgets the cached heads (after a rolled-back transaction that appended). */
  invalidate(): void {
    this.heads.clear();
  }

  /** A tenant's events after `afterSeq`, by seq (replays, export). */
  since(tenant: string, afterSeq: number, limit: number): EventRow[] {
    return this.sinceStmt.all(tenant, afterSeq, limit) as EventRow[];
  }

  /**
   * Where the tenant's pruned prefix ends (`seq` and `hash` of the last pruned event), or
   * undefined when nothing was pruned: the first kept event's `prevHash` is this `hash`.
   */
  checkpoint(tenant: string): { seq: number; hash: string } | undefined {
    return this.checkpointStmt.get(tenant) as { seq: number; hash: string } | undefined;
  }

  /** Records the checkpoint of a pruned prefix (inside the transaction that deletes it). */
  setCheckpoint(tenant: string, seq: number, hash: string, nowMs: number): void {
    this.setCheckpointStmt.run(tenant, seq, hash, nowMs);
  }

  /** Every event of one run, by seq. */
  ofRun(tenant: string, runId: string): EventRow[] {
    return this.ofRunStmt.all(tenant, runId) as EventRow[];
  }
}

function pushRow(p: unknown[], r: EventRow): void {
  p.push(r.tenant, r.seq, r.type, r.dagId, r.runId, r.stepId, r.status, r.tsMs, r.traceId, r.scheduleId, r.scheduledMs, r.detail, r.prevHash, r.hash);
}
