/**
 * Run transfer and ops' cross-tenant reads on PostgreSQL (ports.ts TransferPort,
 * OpsCatalogPort): the same rows as the SQLite store (store/runs.ts `insertImported`,
 * store/catalog.ts).
 *
 * @example
 * await ports.transaction((tx) => tx.transfer.insertImported(run, steps, attempts));
 * await new PgOpsCatalog(conn(pool)).runCounts(['queued', 'running'], '*');
 */
import type { AttemptRow, RunRow, StepRow } from '../runs.js';
import type { OpsCatalogPort, TransferPort } from '../ports.js';
import type { Conn } from './conn.js';

const INSERT_RUN = `insert into runs (run_id, tenant, dag_id, dag_version, dag_hash, run_token, trace_id, status, inputs,
  inputs_hash, outputs_hash, created_ms, started_ms, ended_ms, cancel_reason, schedule_id, scheduled_ms, created_by, cancelled_by, imported)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, 1)
  on conflict do nothing`;
const INSERT_STEPS = `insert into steps (run_id, step_id, topo_index, status, attempt, started_ms, ended_ms, inputs_hash, outputs_hash, outputs,
  logs_ref, error_code, error_message, retryable, next_attempt_ms)
  select * from unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[], $9::text[],
    $10::text[], $11::text[], $12::text[], $13::text[], $14::bigint[], $15::bigint[])`;
const INSERT_ATTEMPTS = `insert into attempts (run_id, step_id, attempt, status, started_ms, ended_ms, error_code, error_message, logs_ref, outputs_hash)
  select * from unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[])`;

const UNIQUE_VIOLATION = '23505';

export class PgTransfer implements TransferPort {
  constructor(private readonly c: Conn) {}

  async insertImported(r: RunRow, steps: readonly StepRow[], attempts: readonly AttemptRow[]): Promise<boolean> {
    const n = await this.c.count(INSERT_RUN, [
      r.runId, r.tenant, r.dagId, r.dagVersion, r.dagHash, r.runToken, r.traceId, r.status, r.inputs, r.inputsHash, r.outputsHash,
      r.createdMs, r.startedMs, r.endedMs, r.cancelReason, r.scheduleId ?? null, r.scheduledMs ?? null, r.createdBy ?? null, r.cancelledBy ?? null,
    ]);
    if (n === 0) return false;
    // The same attempt twice in a record: the last one stands (the SQLite store upserts them in order).
    const byKey = new Map(attempts.map((a) => [`${a.stepId}\0${a.attempt}`, a]));
    const as = [...byKey.values()];
    try {
      if (steps.length > 0) {
        await this.c.count(INSERT_STEPS, [
          steps.map(() => r.runId), steps.map((s) => s.stepId), steps.map((s) => s.topoIndex), steps.map((s) => s.status), steps.map((s) => s.attempt),
          steps.map((s) => s.startedMs), steps.map((s) => s.endedMs), steps.map((s) => s.inputsHash), steps.map((s) => s.outputsHash),
          steps.map((s) => s.outputs), steps.map((s) => s.logsRef), steps.map((s) => s.errorCode), steps.map((s) => s.errorMessage),
          steps.map((s) => s.retryable), steps.map((s) => s.nextAttemptMs),
        ]);
      }
      if (as.length > 0) {
        await this.c.count(INSERT_ATTEMPTS, [
          as.map((a) => a.runId), as.map((a) => a.stepId), as.map((a) => a.attempt), as.map((a) => a.status), as.map((a) => a.startedMs),
          as.map((a) => a.endedMs), as.map((a) => a.errorCode), as.map((a) => a.errorMessage), as.map((a) => a.logsRef), as.map((a) => a.outputsHash),
        ]);
      }
    } catch (e) {
      if ((e as { code?: string }).code === UNIQUE_VIOLATION) return false;
      throw e;
    }
    return true;
  }
}

export class PgOpsCatalog implements OpsCatalogPort {
  constructor(private readonly c: Conn) {}

  activeVersions(): Promise<Array<{ hash: string; definition: string }>> {
    return this.c.rows('select hash, definition from dag_versions where active = 1');
  }

  async dagTenants(): Promise<string[]> {
    return (await this.c.rows<{ tenant: string }>('select distinct tenant from dag_versions')).map((r) => r.tenant);
  }

  runCounts(statuses: readonly string[], tenants: '*' | readonly string[]): Promise<Array<{ tenant: string; status: string; n: number }>> {
    return tenants === '*'
      ? this.c.rows('select tenant, status, count(*)::bigint as n from runs where status = any($1::text[]) group by tenant, status', [statuses])
      : this.c.rows(
        'select tenant, status, count(*)::bigint as n from runs where status = any($1::text[]) and tenant = any($2::text[]) group by tenant, status',
        [statuses, tenants],
      );
  }
}
