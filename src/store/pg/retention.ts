/**
 * Retention and artifact garbage collection on PostgreSQL (ports.ts RetentionPort): the same
 * choices, orders and counts as the SQLite store (store/retention.ts, refs.ts, events.ts'
 * checkpoint). Run-id lists are bound as one `text[]`, so batch size never changes the SQL.
 *
 * Several writers: an ownership row is deleted only under its row lock (`for update`, then the
 * delete in a new statement, which sees every reference committed meanwhile), and a reference
 * is added only under a share lock of the ownership row (pg/records.ts `addRefs`): a reference
 * and the release of what it names never both commit. Call the deletions inside a transaction.
 *
 * @example
 * const r = new PgRetention(conn(client));
 * const ids = await r.eligible({ tenant, dagId, after, before, cutoffMs, limit: 500 });
 * await r.deleteRuns(ids.map((k) => k.runId));
 */
import type { OwnedRow } from '../refs.js';
import type { PolicyRow, PrunedCounts, RunKey } from '../retention.js';
import type { RetentionPort } from '../ports.js';
import { retentionPolicies } from '../schema.js';
import { ENDED_IN, ENDED_RUN_STATUSES } from '../runs.js';
import type { Conn } from './conn.js';
import type { EndedViews } from '../ended-views.js';
import { pgSelectList } from './ddl.js';

const POLICY_COLS = pgSelectList(retentionPolicies);
const ENDED = `status in (${ENDED_IN})`;
const KEY = 'started_ms as "startedMs", run_id as "runId"';
const OWNED = `select tenant, hash, size, created_ms as "createdMs",
    case when exists (select 1 from artifact_refs r where r.tenant = a.tenant and r.hash = a.hash) then 1 else 0 end as referenced
  from artifacts a`;

export class PgRetention implements RetentionPort {
  constructor(private readonly c: Conn, private readonly endedViews?: EndedViews) {}

  async policy(tenant: string): Promise<PolicyRow | undefined> {
    return (await this.c.rows<PolicyRow>(`select ${POLICY_COLS} from retention_policies where tenant = $1`, [tenant]))[0];
  }

  policies(): Promise<PolicyRow[]> {
    return this.c.rows<PolicyRow>(`select ${POLICY_COLS} from retention_policies order by tenant`);
  }

  async putPolicy(p: PolicyRow): Promise<void> {
    await this.c.count(
      `insert into retention_policies (tenant, max_age_days, keep_last, updated_ms) values ($1, $2, $3, $4)
       on conflict (tenant) do update set max_age_days = excluded.max_age_days, keep_last = excluded.keep_last, updated_ms = excluded.updated_ms`,
      [p.tenant, p.maxAgeDays, p.keepLast, p.updatedMs],
    );
  }

  async tenants(): Promise<string[]> {
    return (await this.c.rows<{ t: string }>('select distinct tenant as t from runs order by t')).map((r) => r.t);
  }

  async dagsWithRuns(tenant: string): Promise<string[]> {
    return (await this.c.rows<{ d: string }>('select distinct dag_id as d from runs where tenant = $1 order by d', [tenant])).map((r) => r.d);
  }

  async keepBoundary(tenant: string, dagId: string, keep: number): Promise<RunKey | undefined> {
    return (await this.c.rows<RunKey>(
      `select ${KEY} from runs where tenant = $1 and dag_id = $2 and ${ENDED} order by started_ms desc, run_id desc limit 1 offset $3`,
      [tenant, dagId, keep - 1],
    ))[0];
  }

  eligible(q: { tenant: string; dagId: string; after: RunKey; before: RunKey; cutoffMs: number; limit: number }): Promise<RunKey[]> {
    return this.c.rows<RunKey>(
      `select ${KEY} from runs where tenant = $1 and dag_id = $2 and (started_ms, run_id) > ($3::bigint, $4::text)
         and (started_ms, run_id) < ($5::bigint, $6::text) and ${ENDED} and ended_ms < $7
       order by started_ms, run_id limit $8`,
      [q.tenant, q.dagId, q.after.startedMs, q.after.runId, q.before.startedMs, q.before.runId, q.cutoffMs, q.limit],
    );
  }

  runStates(runIds: readonly string[]): Promise<Array<{ runId: string; status: string; endedMs: number | null }>> {
    return this.c.rows(
      'select run_id as "runId", status, ended_ms as "endedMs" from runs where run_id = any($1::text[]) order by run_id',
      [runIds],
    );
  }

  async deleteRuns(runIds: readonly string[]): Promise<PrunedCounts> {
    const ids = [...runIds];
    const ended = (await this.runStates(ids)).filter((r) => r.endedMs !== null && (ENDED_RUN_STATUSES as readonly string[]).includes(r.status));
    if (ended.length !== ids.length) throw new Error('retention: refusing to delete a run that has not ended');
    this.endedViews?.forget(ids);
    const del = (sql: string) => this.c.count(sql, [ids]);
    return {
      steps: await del('delete from steps where run_id = any($1::text[])'),
      attempts: await del('delete from attempts where run_id = any($1::text[])'),
      idempotency: await del('delete from idempotency_keys where run_id = any($1::text[])'),
      refs: await del('delete from artifact_refs where holder = any($1::text[])'),
      runs: await del(`delete from runs where run_id = any($1::text[]) and ${ENDED}`),
    };
  }

  async checkpoint(tenant: string): Promise<{ seq: number; hash: string } | undefined> {
    return (await this.c.rows<{ seq: number; hash: string }>('select seq, hash from event_checkpoints where tenant = $1', [tenant]))[0];
  }

  async pruneEvents(tenant: string, last: { seq: number; hash: string }, nowMs: number): Promise<number> {
    const n = await this.c.count('delete from events where tenant = $1 and seq <= $2', [tenant, last.seq]);
    await this.c.count(
      `insert into event_checkpoints (tenant, seq, hash, pruned_ms) values ($1, $2, $3, $4)
       on conflict (tenant) do update set seq = excluded.seq, hash = excluded.hash, pruned_ms = excluded.pruned_ms`,
      [tenant, last.seq, last.hash, nowMs],
    );
    return n;
  }

  ownedPage(after: { tenant: string; hash: string }, limit: number, tenant?: string): Promise<OwnedRow[]> {
    return tenant === undefined
      ? this.c.rows<OwnedRow>(`${OWNED} where (tenant, hash) > ($1::text, $2::text) order by tenant, hash limit $3`, [after.tenant, after.hash, limit])
      : this.c.rows<OwnedRow>(`${OWNED} where tenant = $1 and hash > $2 order by tenant, hash limit $3`, [tenant, after.tenant === tenant ? after.hash : '', limit]);
  }

  async deleteIfUnreferenced(tenant: string, hash: string, createdBefore: number): Promise<boolean> {
    const locked = await this.c.rows('select 1 from artifacts where tenant = $1 and hash = $2 and created_ms < $3 for update', [tenant, hash, createdBefore]);
    if (locked.length === 0) return false;
    const n = await this.c.count(
      `delete from artifacts a where tenant = $1 and hash = $2
         and not exists (select 1 from artifact_refs r where r.tenant = a.tenant and r.hash = a.hash)`,
      [tenant, hash],
    );
    return n === 1;
  }

  async ownedByAnyone(hash: string): Promise<boolean> {
    return (await this.c.rows('select 1 from artifacts where hash = $1 limit 1', [hash])).length > 0;
  }
}
