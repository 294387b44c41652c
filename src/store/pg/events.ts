/**
 * The event log on PostgreSQL (ports.ts EventLogPort): per-tenant `seq` from 1 with no gap,
 * chained by hash (../event-chain.ts), with several writers (connections, nodes) at once.
 *
 * The trap: a number allocated at insert time (a sequence) is not the commit order, so a reader
 * that saw seq 10 could later find 9 commit. Here appends are serialised per tenant: the
 * appending transaction takes the tenant's transaction-scoped advisory lock, then reads the
 * tenant's head (last `seq` and `hash`) in a new statement (a new snapshot, taken after the
 * lock: it sees every earlier append, committed before the lock was released), and holds the
 * lock until it commits. So seq N+1 cannot commit before seq N, and a reader never sees a gap.
 * Locks of a batch spanning tenants are taken in tenant order (no deadlock between batches).
 *
 * @example
 * await ports.transaction((tx) => tx.events.append([{ tenant: 'a', type: 'run.started', … }]));
 */
import { eventHash } from '../event-chain.js';
import type { EventRow, NewEvent } from '../event-view.js';
import type { EventLogPort } from '../ports.js';
import { events } from '../schema.js';
import type { Conn } from './conn.js';
import { pgSelectList } from './ddl.js';
import { EVENTS_CHANNEL, headPayloads } from './watch.js';

const COLS = pgSelectList(events);

const LOCK = `select count(pg_advisory_xact_lock(hashtextextended(t, 0)))::bigint as n
  from (select t from unnest($1::text[]) as u(t) order by t) s`;
const HEADS = `select u.t as tenant, coalesce(e.seq, c.seq, 0) as seq, coalesce(e.hash, c.hash, '') as hash
  from unnest($1::text[]) as u(t)
  left join lateral (select seq, hash from events where tenant = u.t order by seq desc limit 1) e on true
  left join event_checkpoints c on c.tenant = u.t`;
// The insert and the wake-up of other nodes in one statement (no extra round trip): the
// notification is delivered when the transaction commits, never if it rolls back (watch.ts).
const INSERT = `with ins as (
  insert into events (tenant, seq, type, dag_id, run_id, step_id, status, ts_ms, trace_id, schedule_id, scheduled_ms, detail, prev_hash, hash)
  select * from unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[],
    $10::text[], $11::bigint[], $12::text[], $13::text[], $14::text[])
  returning 1)
  select pg_notify('${EVENTS_CHANNEL}', p) from unnest($15::text[]) as p`;

const FIELDS: ReadonlyArray<(r: EventRow) => unknown> = [
  (r) => r.tenant, (r) => r.seq, (r) => r.type, (r) => r.dagId, (r) => r.runId, (r) => r.stepId, (r) => r.status, (r) => r.tsMs,
  (r) => r.traceId, (r) => r.scheduleId, (r) => r.scheduledMs, (r) => r.detail, (r) => r.prevHash, (r) => r.hash,
];

export class PgEvents implements EventLogPort {
  constructor(private readonly c: Conn) {}

  /** Call inside a transaction: the tenants' locks are held until it ends. */
  async append(evs: readonly NewEvent[]): Promise<EventRow[]> {
    if (evs.length === 0) return [];
    const tenants = [...new Set(evs.map((e) => e.tenant))];
    await this.c.rows(LOCK, [tenants]);
    const heads = new Map<string, { seq: number; hash: string }>();
    for (const h of await this.c.rows<{ tenant: string; seq: number; hash: string }>(HEADS, [tenants])) heads.set(h.tenant, h);
    const rows = evs.map((e) => {
      const head = heads.get(e.tenant)!;
      const row: EventRow = {
        tenant: e.tenant, seq: head.seq + 1, type: e.type, dagId: e.dagId, runId: e.runId, stepId: e.stepId, status: e.status,
        tsMs: e.tsMs, traceId: e.traceId, scheduleId: e.scheduleId ?? null, scheduledMs: e.scheduledMs ?? null, detail: e.detail ?? null,
        prevHash: head.hash, hash: '',
      };
      row.hash = eventHash(head.hash, row);
      head.seq = row.seq;
      head.hash = row.hash;
      return row;
    });
    const last = new Map<string, number>();
    for (const r of rows) last.set(r.tenant, r.seq);
    await this.c.count(INSERT, [...FIELDS.map((f) => rows.map(f)), headPayloads(last)]);
    return rows;
  }

  since(tenant: string, afterSeq: number, limit: number): Promise<EventRow[]> {
    return this.c.rows<EventRow>(`select ${COLS} from events where tenant = $1 and seq > $2 order by seq limit $3`, [tenant, afterSeq, limit]);
  }

  ofRun(tenant: string, runId: string): Promise<EventRow[]> {
    return this.c.rows<EventRow>(`select ${COLS} from events where tenant = $1 and run_id = $2 order by seq`, [tenant, runId]);
  }

  async head(tenant: string): Promise<{ seq: number; hash: string }> {
    const [h] = await this.c.rows<{ tenant: string; seq: number; hash: string }>(HEADS, [[tenant]]);
    return { seq: h!.seq, hash: h!.hash };
  }
}
