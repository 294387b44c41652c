/**
 * Storing a schedule document, written once for the API (`ScheduleService`), preloaded files
 * and offline bundles: the document checked against the tenant's DAGs (422 `DAG_INVALID`, the
 * inputs against the DAG's `inputsSchema`) and turned into its row (normal form, hash, first
 * fire after now); and the bundle's rule, create or leave unchanged, never replace.
 *
 * @example
 * const d = { store, clock, plans };
 * store.tx(() => installSchedule(d, 'demo', { doc, signature, signedBy })); // { created: true }
 */
import { ApiError, canonicalHash, canonicalJson, type Clock } from '../core/index.js';
import type { PlanCache } from '../engine/index.js';
import type { TrustStore } from '../dags/signature.js';
import { appendAuditEvent, systemAudit, type Audit } from '../events/actor.js';
import type { EventRow, ScheduleRow, Store } from '../store/index.js';
import { compile, nextFireOf } from './compiled.js';
import { normalizeSchedule, scheduleDocumentSchema, type ScheduleDocument, type ScheduleSpec } from './model.js';
import { verifyScheduleSignature } from './signature.js';

/** What checking and storing a schedule needs (no run service, no firer: `bundle import` runs offline). */
export interface ScheduleStoreDeps {
  store: Store;
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

/** The tenant must hold the DAG (version) the schedule names, and the inputs must fit its schema. */
function checkDag(d: ScheduleStoreDeps, tenant: string, spec: ScheduleSpec): void {
  const { store } = d;
  const where = { dagId: spec.dagId, ...(spec.version ? { version: spec.version } : {}) };
  const version = spec.version !== undefined
    ? store.dags.get(tenant, spec.dagId, spec.version)
    : store.dags.latestActive(tenant, spec.dagId) ?? store.dags.list({ tenant, dagId: spec.dagId, limit: 1 })[0];
  if (!version) {
    throw new ApiError('DAG_INVALID', `${spec.version ? `${spec.dagId}@${spec.version}` : spec.dagId} is not a DAG of this tenant`, where);
  }
  d.plans.forRow(version).validateInputs(spec.inputs);
}

/** Checks a document against the tenant's DAGs (422 DAG_INVALID) and builds its row. */
export function prepareSchedule(d: ScheduleStoreDeps, tenant: string, incoming: IncomingSchedule): { spec: ScheduleSpec; row: ScheduleRow } {
  const checked = normalizeSchedule(incoming.doc);
  const { spec } = checked;
  checkDag(d, tenant, spec);
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

/**
 * The audit event of a change to a schedule, inside its transaction: no run (`runId` absent),
 * `status` the schedule's state after it (`active`, `paused`, `deleted`), the actor in its detail.
 */
export function scheduleEvent(d: Pick<ScheduleStoreDeps, 'store' | 'clock'>, row: Pick<ScheduleRow, 'tenant' | 'scheduleId' | 'dagId' | 'paused'>, type: ScheduleChange, who: Audit): EventRow {
  const status = type === 'schedule.deleted' ? 'deleted' : row.paused === 1 ? 'paused' : 'active';
  return appendAuditEvent(d.store, { tenant: row.tenant, type, dagId: row.dagId, status, tsMs: d.clock.now(), scheduleId: row.scheduleId }, who);
}

/**
 * Creating a schedule, written once for `POST /schedules`, preloaded files and bundles, inside
 * the caller's transaction: the prepared row stored with its `schedule.created` event; when the
 * id holds the same normal form, that row and no event (nothing changes); when it holds another
 * definition, 409 `SCHEDULE_EXISTS` (`${why}` says what replaces it, or that nothing does).
 */
export function createSchedule(
  d: ScheduleStoreDeps,
  prepared: { row: ScheduleRow },
  who: Audit,
  why: string,
  details?: Record<string, unknown>,
): { stored: ScheduleRow; event?: EventRow } {
  const { row } = prepared;
  const existing = d.store.schedules.get(row.tenant, row.scheduleId);
  if (existing) {
    if (existing.specHash !== row.specHash) throw new ApiError('SCHEDULE_EXISTS', `schedule ${row.scheduleId} exists with another definition; ${why}`, details);
    return { stored: existing };
  }
  const stored = { ...row, createdBy: who.actor, updatedBy: who.actor };
  d.store.schedules.insert(stored);
  return { stored, event: scheduleEvent(d, row, 'schedule.created', who) };
}

/**
 * A bundle's schedule, inside the caller's transaction (after the bundle's DAGs, which it may
 * name): created when absent (with its `schedule.created` event, by `system`, as the bundle's
 * DAGs have theirs); `{created: false}` when the stored one has the same normal form (its pause
 * state, fire history and signer stay); 409 `SCHEDULE_EXISTS` when the id holds another
 * definition — a bundle never replaces a schedule (docs/SCHEDULES.md).
 */
export function installSchedule(d: ScheduleStoreDeps, tenant: string, incoming: IncomingSchedule): { created: boolean } {
  const prepared = prepareSchedule(d, tenant, incoming);
  const { event } = createSchedule(d, prepared, systemAudit(), 'a bundle does not replace it', { scheduleId: prepared.spec.scheduleId });
  return { created: event !== undefined };
}
