/**
 * Run records carried between installations: the export (NDJSON lines of runs with their
 * steps and attempts inline, oldest first) and its import. An imported run is stored exactly
 * as exported and marked read-only, so exporting it again gives the same bytes; it is
 * imported only into the tenant it belongs to, after every hash was recomputed
 * (`import-checks.ts`), and its runToken never answers a new `POST /runs`.
 *
 * @example
 * for await (const rec of exportRunRecords(ports.runs, { tenant: 'demo' })) out.write(canonicalJson(rec) + '\n');
 * await importRunRecords(ports, parseNdjsonExport(text), { tenant: 'demo' });
 */
import { namedHashes } from '../artifacts/index.js';
import { ApiError, canonicalJson, HASH_RE, ID_RE, TENANT_RE, UUID_V7_RE } from '../core/index.js';
import type { AttemptRow, Ports, RunLedgerPort, RunListFilter, RunRow, StepRow, StorePorts } from '../store/index.js';
import { PlanCache } from '../engine/index.js';
import { checkImportedRun } from './import-checks.js';
import { runView, type RunView, type StepView } from './views.js';

export type RunRecord = RunView & { inputs: unknown };
export type ExportFilter = Omit<RunListFilter, 'after' | 'afterAsc' | 'limit'>;

function record(r: RunRow, steps: StepRow[], attempts: AttemptRow[]): RunRecord {
  return { ...runView(r, steps, attempts), inputs: JSON.parse(r.inputs) as unknown };
}

async function recordThrough(runs: RunLedgerPort, r: RunRow): Promise<RunRecord> {
  const [steps, attempts] = await Promise.all([runs.steps(r.runId), runs.attemptsOfRun(r.runId)]);
  return record(r, steps, attempts);
}

/**
 * Runs for an export, oldest first (`startedMs ASC, runId ASC`), read page by page through the
 * run ledger (keyset pages), steps and attempts inline.
 */
export async function* exportRunRecords(runs: RunLedgerPort, f: ExportFilter, batch = 100): AsyncGenerator<RunRecord> {
  let after: { startedMs: number; runId: string } | undefined;
  for (;;) {
    const rows = await runs.list({ ...f, asc: true, afterAsc: after, limit: batch });
    for (const r of rows) yield await recordThrough(runs, r);
    if (rows.length < batch) return;
    const last = rows[rows.length - 1]!;
    after = { startedMs: last.startedMs, runId: last.runId };
  }
}

/**
 * The export records of given runs of a tenant, in the order given (runs no longer there are
 * skipped): what retention archives before it deletes them.
 *
 * @example for (const rec of await runRecordsOf(ports.runs, 'demo', ids)) out.write(canonicalJson(rec) + '\n');
 */
export async function runRecordsOf(runs: RunLedgerPort, tenant: string, runIds: readonly string[]): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (const id of runIds) {
    const r = await runs.get(tenant, id);
    if (r) out.push(await recordThrough(runs, r));
  }
  return out;
}

/** Fields an older export lacks: the schedule's (before schedules), the actors' (before actors). */
const OLD_EXPORT_DEFAULTS: Record<string, unknown> = { scheduleId: null, scheduledUtc: null, createdBy: null, cancelledBy: null, cancelReason: null };

/** An optional text field of a record: a string, or null when absent. */
function optionalText(v: unknown, field: string, index: number): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > 4096) throw bad(index, `${field} must be a string or null`);
  return v;
}

const ms = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));

function bad(index: number, message: string): ApiError {
  return new ApiError('VALIDATION_FAILED', `record ${index + 1}: ${message}`, { record: index + 1 });
}

/** Turns an exported record back into rows, checking what the database relies on. */
function rowsOf(rec: RunRecord, index: number): { run: RunRow; steps: StepRow[]; attempts: AttemptRow[] } {
  const r = rec as Partial<RunRecord>;
  if (typeof r.runId !== 'string' || !UUID_V7_RE.test(r.runId)) throw bad(index, 'runId is not a UUIDv7');
  if (typeof r.tenant !== 'string' || !TENANT_RE.test(r.tenant)) throw bad(index, 'tenant is not a tenant id');
  if (typeof r.dagHash !== 'string' || !HASH_RE.test(r.dagHash) || typeof r.inputsHash !== 'string' || !HASH_RE.test(r.inputsHash)) {
    throw bad(index, 'dagHash/inputsHash must be sha256 hex');
  }
  if (typeof r.startedUtc !== 'string' || Number.isNaN(Date.parse(r.startedUtc)) || !Array.isArray(r.steps)) {
    throw bad(index, 'startedUtc and steps[] are required');
  }
  // Exports made before schedules have neither field; a scheduled run has both.
  const scheduleId = r.scheduleId ?? null;
  const scheduledMs = ms(r.scheduledUtc ?? null);
  if ((scheduleId === null) !== (scheduledMs === null) || (scheduleId !== null && !ID_RE.test(scheduleId)) || Number.isNaN(scheduledMs)) {
    throw bad(index, 'scheduleId and scheduledUtc must both be null, or a schedule id and an ISO time');
  }
  const run: RunRow = {
    runId: r.runId, tenant: r.tenant, dagId: String(r.dagId), dagVersion: String(r.dagVersion), dagHash: r.dagHash,
    runToken: r.runToken ?? null, traceId: String(r.traceId), status: String(r.status), inputs: canonicalJson(r.inputs ?? {}),
    inputsHash: r.inputsHash, outputsHash: r.outputsHash ?? null, createdMs: ms(r.createdUtc ?? r.startedUtc)!,
    startedMs: ms(r.startedUtc)!, endedMs: ms(r.endedUtc ?? null), cancelReason: optionalText(r.cancelReason, 'cancelReason', index),
    scheduleId, scheduledMs, createdBy: optionalText(r.createdBy, 'createdBy', index), cancelledBy: optionalText(r.cancelledBy, 'cancelledBy', index),
  };
  const steps: StepRow[] = [];
  const attempts: AttemptRow[] = [];
  r.steps.forEach((s: StepView, i) => {
    steps.push({
      runId: run.runId, stepId: s.stepId, topoIndex: i, status: s.status, attempt: s.attempt,
      startedMs: ms(s.startedUtc), endedMs: ms(s.endedUtc), inputsHash: s.inputsHash, outputsHash: s.outputsHash,
      outputs: s.outputs === null ? null : canonicalJson(s.outputs), logsRef: s.logsRef, errorCode: s.errorCode,
      errorMessage: s.errorMessage, retryable: s.retryable === null ? null : s.retryable ? 1 : 0, nextAttemptMs: null,
    });
    for (const a of s.attempts) {
      attempts.push({
        runId: run.runId, stepId: s.stepId, attempt: a.attempt, status: a.status, startedMs: ms(a.startedUtc)!,
        endedMs: ms(a.endedUtc), errorCode: a.errorCode, errorMessage: a.errorMessage, logsRef: a.logsRef,
        outputsHash: a.outputsHash,
      });
    }
  });
  return { run, steps, attempts };
}

export interface ImportReport {
  imported: number;
  unchanged: number;
}

export interface ImportOptions {
  /** The only tenant whose records this import accepts (`import runs --tenant`). */
  tenant: string;
  onProgress?(done: number): void;
}

/**
 * Imports exported run records of one tenant in one transaction: all or nothing. Every record
 * must belong to `tenant` and pass {@link checkImportedRun}. A run already present with
 * identical content is left as it is; a run id already used by another run is refused. The
 * runToken of an imported run is history only: `POST /runs` with it starts a new run.
 */
export function importRunRecords(ports: StorePorts, records: readonly unknown[], opts: ImportOptions): Promise<ImportReport> {
  return ports.transaction((tx) => importRunRecordsIn(tx, records, opts));
}

/** {@link importRunRecords} inside the caller's transaction (a run archive's import stores its DAGs in the same one). */
export async function importRunRecordsIn(tx: Ports, records: readonly unknown[], opts: ImportOptions): Promise<ImportReport> {
  const report: ImportReport = { imported: 0, unchanged: 0 };
  const { tenant, onProgress } = opts;
  if (!TENANT_RE.test(tenant)) throw new ApiError('VALIDATION_FAILED', 'the import needs a tenant id', { field: 'tenant' });
  const plans = new PlanCache(); // each DAG version of the import compiled once
  for (const [index, raw] of records.entries()) {
    const rec = raw as RunRecord;
    const { run, steps, attempts } = rowsOf(rec, index);
    await checkImportedRun(tx.catalog, plans, tenant, rec, index);
    const existing = await tx.runs.get(run.tenant, run.runId);
    if (existing) {
      // (An export made before schedules lacks the two schedule fields: they are null.)
      if (canonicalJson(await recordThrough(tx.runs, existing)) === canonicalJson({ ...OLD_EXPORT_DEFAULTS, ...rec })) {
        report.unchanged++;
        continue;
      }
      throw bad(index, `run ${run.runId} exists here with other content`);
    }
    if (!(await tx.transfer.insertImported(run, steps, attempts))) throw bad(index, `run ${run.runId} (or one of its steps) is already used here`);
    // What it names of this tenant's artifacts (logs, inputs, outputs) is kept with it.
    const named = [...namedHashes(run.inputs), ...steps.flatMap((s) => [s.logsRef, ...namedHashes(s.outputs)]), ...attempts.map((a) => a.logsRef)];
    await tx.artifacts.addRefs(named.filter((h): h is string => h !== null).map((hash) => ({ tenant, hash, holder: run.runId })));
    report.imported++;
    if (onProgress && report.imported % 1000 === 0) onProgress(report.imported);
  }
  return report;
}
