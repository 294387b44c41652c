/**
 * Queries of retention: per-tenant policies, the choice of prunable runs (keyset batches over
 * the `runs_dag_order` index), deleting a batch of runs with everything that hangs off them,
 * and the event log's prefix with its chain checkpoint. Every statement is prepared once; the
 * run-id lists are bound as one JSON array (`json_each`), so batch size never changes the SQL.
 *
 * @example
 * const ids = store.retention.eligible({ tenant, dagId, keep, cutoffMs, after, limit: 100 });
 * store.tx(() => store.retention.deleteRuns(ids.map((r) => r.runId)));
 */
import type Database from 'better-sqlite3';
import { selectList, type Row } from './rows.js';
import { retentionPolicies } from './schema.js';
import { ENDED_IN, ENDED_RUN_STATUSES } from './runs.js';
import type { EndedViews } from './ended-views.js';
import { boundLimit } from './util.js';

/** A tenant's retention policy (schema `retention_policies`). */
export type PolicyRow = Row<typeof retentionPolicies>;

/** A position in `started_ms, run_id` order. */
export interface RunKey {
  startedMs: number;
  runId: string;
}

export interface PrunedCounts {
  runs: number;
  steps: number;
  attempts: number;
  idempotency: number;
  refs: number;
}

const ENDED = `status in (${ENDED_IN})`;

export class RetentionQueries {
  private readonly policyStmt;
  private readonly policiesStmt;
  private readonly putPolicyStmt;
  private readonly tenantsStmt;
  private readonly dagsStmt;
  private readonly boundaryStmt;
  private readonly eligibleStmt;
  private readonly statesStmt;
  private readonly delSteps;
  private readonly delAttempts;
  private readonly delIdem;
  private readonly delRefs;
  private readonly delRuns;
  private readonly delEvents;

  constructor(db: Database.Database, private readonly endedViews?: EndedViews) {
    const cols = selectList(retentionPolicies);
    this.policyStmt = db.prepare(`select ${cols} from retention_policies where tenant=?`);
    this.policiesStmt = db.prepare(`select ${cols} from retention_policies order by tenant`);
    this.putPolicyStmt = db.prepare(
      `insert into retention_policies (tenant, max_age_days, keep_last, updated_ms) values (?, ?, ?, ?)
       on conflict (tenant) do update set max_age_days=excluded.max_age_days, keep_last=excluded.keep_last,
         updated_ms=excluded.updated_ms`,
    );
    this.tenantsStmt = db.prepare(`select distinct tenant from runs order by tenant`).pluck();
    this.dagsStmt = db.prepare(`select distinct dag_id from runs where tenant=? order by dag_id`).pluck();
    // The newest K ended runs of a DAG: newest by started_ms, then run_id (UUIDv7, time-ordered).
    this.boundaryStmt = db.prepare(
      `select started_ms as startedMs, run_id as runId from runs where tenant=? and dag_id=? and ${ENDED}
        order by started_ms desc, run_id desc limit 1 offset ?`,
    );
    this.eligibleStmt = db.prepare(
      `select started_ms as startedMs, run_id as runId from runs
        where tenant=? and dag_id=? and (started_ms, run_id) > (?, ?) and (started_ms, run_id) < (?, ?)
          and ${ENDED} and ended_ms < ?
        order by started_ms, run_id ${boundLimit('?')}`,
    );
    this.statesStmt = db.prepare(
      `select run_id as runId, status, ended_ms as endedMs from runs where run_id in (select value from json_each(?)) order by run_id`,
    );
    const ids = `(select value from json_each(?))`;
    this.delSteps = db.prepare(`delete from steps where run_id in ${ids}`);
    this.delAttempts = db.prepare(`delete from attempts where run_id in ${ids}`);
    this.delIdem = db.prepare(`delete from idempotency_keys where run_id in ${ids}`);
    this.delRefs = db.prepare(`delete from artifact_refs where holder in ${ids}`);
    // `+status`: the status check must not pick the runs_status index, which would walk every
    // ended run of the installation per transaction (pruning went quadratic: 100 runs/s at 100k).
    this.delRuns = db.prepare(`delete from runs where run_id in ${ids} and +${ENDED}`);
    this.delEvents = db.prepare(`delete from events where tenant=? and seq <= ?`);
  }

  policy(tenant: string): PolicyRow | undefined {
    return this.policyStmt.get(tenant) as PolicyRow | undefined;
  }

  policies(): PolicyRow[] {
    return this.policiesStmt.all() as PolicyRow[];
  }

  putPolicy(p: PolicyRow): void {
    this.putPolicyStmt.run(p.tenant, p.maxAgeDays, p.keepLast, p.updatedMs);
  }

  /** Tenants that have runs. */
  tenants(): string[] {
    return this.tenantsStmt.all() as string[];
  }

  /** DAG ids a tenant has runs of. */
  dagsWithRuns(tenant: string): string[] {
    return this.dagsStmt.all(tenant) as string[];
  }

  /** The K-th newest ended run of a DAG (K ≥ 1), or undefined when it has fewer. */
  keepBoundary(tenant: string, dagId: string, keep: number): RunKey | undefined {
    return this.boundaryStmt.get(tenant, dagId, keep - 1) as RunKey | undefined;
  }

  /**
   * Up to `limit` ended runs of a DAG that ended before `cutoffMs`, strictly between `after`
   * and `before` in `started_ms, run_id` order, oldest first.
   */
  eligible(q: { tenant: string; dagId: string; after: RunKey; before: RunKey; cutoffMs: number; limit: number }): RunKey[] {
    return this.eligibleStmt.all(
      q.tenant, q.dagId, q.after.startedMs, q.after.runId, q.before.startedMs, q.before.runId, q.cutoffMs, q.limit,
    ) as RunKey[];
  }

  /** Status and end of the given runs (absent ones are missing from the answer). */
  runStates(runIds: readonly string[]): Array<{ runId: string; status: string; endedMs: number | null }> {
    return this.statesStmt.all(JSON.stringify(runIds)) as Array<{ runId: string; status: string; endedMs: number | null }>;
  }

  /**
   * Deletes ended runs with their steps, attempts, idempotency records and artifact references
   * (call inside a transaction). A run that is not ended is never deleted, nor is what hangs
   * off it: the caller passes only ended runs, and the run DELETE checks the status again.
   */
  deleteRuns(runIds: readonly string[]): PrunedCounts {
    const ids = JSON.stringify(runIds);
    const ended = this.runStates(runIds).filter((r) => r.endedMs !== null && (ENDED_RUN_STATUSES as readonly string[]).includes(r.status));
    if (ended.length !== runIds.length) throw new Error('retention: refusing to delete a run that has not ended');
    this.endedViews?.forget(runIds);
    return {
      steps: this.delSteps.run(ids).changes,
      attempts: this.delAttempts.run(ids).changes,
      idempotency: this.delIdem.run(ids).changes,
      refs: this.delRefs.run(ids).changes,
      runs: this.delRuns.run(ids).changes,
    };
  }

  /** Deletes a tenant's events up to and including `seq`; returns how many. */
  deleteEventsThrough(tenant: string, seq: number): number {
    return this.delEvents.run(tenant, seq).changes;
  }
}
