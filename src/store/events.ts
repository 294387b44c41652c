/**
 * The event log (CONTRACT §6): one row per state change, written in the same transaction as
 * the change, numbered per tenant and chained by hash.
 *
 * Numbering: `seq` is 1 for a tenant's first event and then increases by exactly 1. The last
 * `(seq, hash)` of each tenant is kept in memory after its first load (one writer connection,
 * so nobody else appends).
 *
 * Hash chain: event-chain.ts; the event types, row and API view: event-view.ts.
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
import { eventHash } from './event-chain.js';
import type { EventRow, NewEvent } from './event-view.js';
import { MultiRowInsert } from './multi-insert.js';
import { selectList } from './rows.js';
import { events } from './schema.js';
import { boundLimit } from './util.js';

export { EVENT_TYPES, eventExportRecord, eventView, type EventRow, type EventType, type EventView, type NewEvent, type NumberedEvent } from './event-view.js';
export { eventCanonicalJson, eventHash } from './event-chain.js';

const INSERT = 'insert into events (tenant, seq, type, dag_id, run_id, step_id, status, ts_ms, trace_id, schedule_id, scheduled_ms, detail, prev_hash, hash) values';

const COLS = selectList(events);

export class EventLog {
  private readonly heads = new Map<string, { seq: number; hash: string }>();
  private readonly headStmt;
  /** Multi-row inserts: fewer statement executions per group commit. */
  private readonly insert;
  private readonly sinceStmt;
  private readonly ofRunStmt;
  private readonly checkpointStmt;
  private readonly setCheckpointStmt;

  constructor(db: Database.Database) {
    this.insert = new MultiRowInsert(db, INSERT, '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', 14);
    this.headStmt = db.prepare(`select seq, hash from events where tenant=? order by seq desc limit 1`);
    this.checkpointStmt = db.prepare(`select seq, hash from event_checkpoints where tenant=?`);
    this.setCheckpointStmt = db.prepare(
      `insert into event_checkpoints (tenant, seq, hash, pruned_ms) values (?, ?, ?, ?)
       on conflict (tenant) do update set seq=excluded.seq, hash=excluded.hash, pruned_ms=excluded.pruned_ms`,
    );
    this.sinceStmt = db.prepare(`select ${COLS} from events where tenant=? and seq > ? order by seq ${boundLimit('?')}`);
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
    this.insert.run(rows, putRow);
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

function putRow(p: unknown[], at: number, r: EventRow): void {
  p[at] = r.tenant;
  p[at + 1] = r.seq;
  p[at + 2] = r.type;
  p[at + 3] = r.dagId;
  p[at + 4] = r.runId;
  p[at + 5] = r.stepId;
  p[at + 6] = r.status;
  p[at + 7] = r.tsMs;
  p[at + 8] = r.traceId;
  p[at + 9] = r.scheduleId;
  p[at + 10] = r.scheduledMs;
  p[at + 11] = r.detail;
  p[at + 12] = r.prevHash;
  p[at + 13] = r.hash;
}
