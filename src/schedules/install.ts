/**
 * Storing a schedule document, written once for the API (`ScheduleService`), preloaded files
 * and offline bundles: the document checked against the tenant's DAGs (422 `DAG_INVALID`, the
 * inputs against the DAG's `inputsSchema`) and turned into its row (normal form, hash, first
 * fire after now); and the bundle's rule, create or leave unchanged, never replace.
 *
 * @example
 * const prepared = scheduleRow(d, 'demo', incoming, await scheduledDag(ports.catalog, 'demo', normalizeSchedule(incoming.doc).spec));
 * await ports.transaction((tx) => createSchedule(d, txPorts(tx), prepared, who, 'PUT replaces it')); // { stored, event }
 * await ports.transaction((tx) => installSchedule(d, tx, 'demo', { doc, signature, signedBy })); // a bundle's: { created: true, event }
 */
import { ApiError, canonicalHash, canonicalJson, type Clock } from '../core/index.js';
import type { PlanCache } from '../engine/index.js';
import type { TrustStore } from '../dags/signature.js';
import { appendAuditEvent, systemAudit, type Audit } from '../events/actor.js';
import type { CatalogPort, DagVersionRow, EventRow, Ports, ScheduleRow } from '../store/index.js';
import { compile, nextFireOf } from './compiled.js';
import { normalizeSchedule, scheduleDocumentSchema, type ScheduleDocument, type ScheduleSpec } from './model.js';
import { verifyScheduleSignature } from './signature.js';

/** What checking and storing a schedule needs besides the transaction (no run service, no firer: `bundle import` runs offline). */
export interface ScheduleStoreDeps {
  clock: Clock;
  plans: PlanCache;
}

/** A document to store: normal form, hash, and who signed it (preloads and bundles). */
export interface IncomingSchedule {
  doc: ScheduleDocument;
  signature?: string | null;
  signedBy?: string[];
}

/**
 * A signed schedule document as a preloaded file or a bundle carries it: its signature checked
 * (signature.ts), then its shape (400 `VALIDATION_FAILED` listing the fields) and its cron, zone
 * and window (naming `schedule.cron`…). `keys` are those trusted for the tenant.
 */
export function readSignedSchedule(raw: unknown, keys: TrustStore, opts: { allowUnsigned: boolean }): IncomingSchedule {
  const verified = verifyScheduleSignature(raw, keys, opts);
  return { doc: parseScheduleDocument(verified.content), signature: verified.signature, signedBy: verified.signedBy };
}

/** A document's content (without `signature`): its shape, then its cron, zone and window. */
export function parseScheduleDocument(content: unknown): ScheduleDocument {
  const parsed = scheduleDocumentSchema.safeParse(content);
  if (!parsed.success) {
    throw new ApiError('VALIDATION_FAILED', `schedule document: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  normalizeSchedule(parsed.data, 'schedule');
  return parsed.data;
}

/** The DAG version a schedule names: that version, else the latest active one, else the first listed. */
export async function scheduledDag(catalog: CatalogPort, tenant: string, spec: Pick<ScheduleSpec, 'dagId' | 'version'>): Promise<DagVersionRow | undefined> {
  if (spec.version !== undefined) return catalog.getVersion(tenant, spec.dagId, spec.version);
  return (await catalog.latestActive(tenant, spec.dagId)) ?? (await catalog.listVersions({ tenant, dagId: spec.dagId, limit: 1 }))[0];
}

/** The tenant must hold the DAG (version) the schedule names (`version`, looked up), and the inputs must fit its schema. */
function checkDag(d: Pick<ScheduleStoreDeps, 'plans'>, spec: ScheduleSpec, version: DagVersionRow | undefined): void {
  const where = { dagId: spec.dagId, ...(spec.version ? { version: spec.version } : {}) };
  if (!version) {
    throw new ApiError('DAG_INVALID', `${spec.version ? `${spec.dagId}@${spec.version}` : spec.dagId} is not a DAG of this tenant`, where);
  }
  d.plans.forRow(version).validateInputs(spec.inputs);
}

/** Checks a document against the tenant's DAGs, through the ports (422 DAG_INVALID), and builds its row. */
export async function prepareSchedule(d: Pick<ScheduleStoreDeps, 'clock' | 'plans'>, catalog: CatalogPort, tenant: string, incoming: IncomingSchedule): Promise<{ spec: ScheduleSpec; row: ScheduleRow }> {
  const { spec } = normalizeSchedule(incoming.doc);
  return scheduleRow(d, tenant, incoming, await scheduledDag(catalog, tenant, spec));
}

/** Checks a document against the DAG version it names (`version`, looked up by the caller; 422 DAG_INVALID) and builds its row. */
function scheduleRow(d: Pick<ScheduleStoreDeps, 'clock' | 'plans'>, tenant: string, incoming: IncomingSchedule, version: DagVersionRow | undefined): { spec: ScheduleSpec; row: ScheduleRow } {
  const checked = normalizeSchedule(incoming.doc);
  const { spec } = checked;
  checkDag(d, spec, version);
  const now = d.clock.now();
  const specHash = canonicalHash(spec);
  const next = spec.paused ? null : nextFireOf(compile(checked, specHash), now);
  return {
    spec,
    row: {
      tenant, scheduleId: spec.scheduleId, dagId: spec.dagId, spec: canonicalJson(spec), specHash,
      signature: incoming.signature ?? null, signedBy: JSON.stringify(incoming.signedBy ?? []), paused: spec.paused ? 1 : 0,
      createdMs: now, updatedMs: now, createdBy: null, updatedBy: null, nextFireMs: next, bufferedFireMs: null, lastFireMs: null, lastFireStatus: null,
      lastFireRunId: null, lastFireError: null, missedCount: 0, missedLastMs: null,
    },
  };
}

/** The audit events of changes to a schedule (docs/API.md "Actors"). */
export type ScheduleChange = 'schedule.created' | 'schedule.replaced' | 'schedule.paused' | 'schedule.resumed' | 'schedule.deleted';

/** The audit event of a change to a schedule: no run (`runId` absent), `status` the schedule's state after it (`active`, `paused`, `deleted`), the actor in its detail. */
function scheduleAudit(d: Pick<ScheduleStoreDeps, 'clock'>, row: Pick<ScheduleRow, 'tenant' | 'scheduleId' | 'dagId' | 'paused'>, type: ScheduleChange, who: Audit) {
  const status = type === 'schedule.deleted' ? 'deleted' : row.paused === 1 ? 'paused' : 'active';
  return { tenant: row.tenant, type, dagId: row.dagId, status, tsMs: d.clock.now(), scheduleId: row.scheduleId };
}

/** Appends the audit event of a change to a schedule (see {@link scheduleAudit}) inside its transaction. */
export async function scheduleEvent(
  d: Pick<ScheduleStoreDeps, 'clock'>,
  tx: Ports,
  row: Pick<ScheduleRow, 'tenant' | 'scheduleId' | 'dagId' | 'paused'>,
  type: ScheduleChange,
  who: Audit,
): Promise<EventRow> {
  return appendAuditEvent(tx, scheduleAudit(d, row, type, who), who);
}

/** A schedule id that holds `row`'s normal form already (nothing to store), or 409 `SCHEDULE_EXISTS` when it holds another. */
function sameOrRefused(existing: ScheduleRow, row: ScheduleRow, why: string, details?: Record<string, unknown>): { stored: ScheduleRow } {
  if (existing.specHash !== row.specHash) throw new ApiError('SCHEDULE_EXISTS', `schedule ${row.scheduleId} exists with another definition; ${why}`, details);
  return { stored: existing };
}

/**
 * Creating a schedule, written once for `POST /schedules`, preloaded files and bundles ({@link
 * installSchedule}), inside the caller's transaction: the prepared row stored with its
 * `schedule.created` event; when the id holds the same normal form, that row and no event
 * (nothing changes); when it holds another definition, 409 `SCHEDULE_EXISTS` (`${why}` says
 * what replaces it, or that nothing does; `details` its details). Two creates of one id at once: one inserts, the
 * other finds its row (the insert waits for the first on PostgreSQL) and answers as above.
 */
export async function createSchedule(
  d: Pick<ScheduleStoreDeps, 'clock'>,
  tx: Ports,
  prepared: { row: ScheduleRow },
  who: Audit,
  why: string,
  details?: Record<string, unknown>,
): Promise<{ stored: ScheduleRow; event?: EventRow }> {
  const { row } = prepared;
  const existing = await tx.schedules.get(row.tenant, row.scheduleId);
  if (existing) return sameOrRefused(existing, row, why, details);
  const stored = { ...row, createdBy: who.actor, updatedBy: who.actor };
  if (!(await tx.schedules.insert(stored))) {
    const winner = await tx.schedules.get(row.tenant, row.scheduleId);
    if (!winner) throw new ApiError('INTERNAL', `schedule ${row.scheduleId} was stored and deleted meanwhile; try again`);
    return sameOrRefused(winner, row, why, details);
  }
  return { stored, event: await scheduleEvent(d, tx, row, 'schedule.created', who) };
}

/**
 * A bundle's schedule, inside the bundle import's transaction (after the bundle's DAGs, which
 * it may name, so it reads the catalog through `tx`): created when absent (with its
 * `schedule.created` event, by `system`, as the bundle's DAGs have theirs); `{created: false}`
 * when the stored one has the same normal form (its pause state, fire history and signer
 * stay); 409 `SCHEDULE_EXISTS` when the id holds another definition — a bundle never replaces a
 * schedule (docs/SCHEDULES.md).
 */
export async function installSchedule(d: Pick<ScheduleStoreDeps, 'clock' | 'plans'>, tx: Ports, tenant: string, incoming: IncomingSchedule): Promise<{ created: boolean; event?: EventRow }> {
  const prepared = await prepareSchedule(d, tx.catalog, tenant, incoming);
  const { event } = await createSchedule(d, tx, prepared, systemAudit(), 'a bundle does not replace it', { scheduleId: prepared.spec.scheduleId });
  return { created: event !== undefined, event };
}
