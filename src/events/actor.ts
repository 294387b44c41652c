/**
 * Who caused an event (docs/API.md "Actors"): the token's `sub` for a request, `schedule:<id>`
 * for a schedule's fire, `system` for what the server does on its own (start-up preloads,
 * recovery, retention). The actor (and a cancel's `reason`) travels in an event's `detail`, so
 * it is inside the hash chain, in the stream and in exports.
 *
 * @example
 * await tx.events.append([{ ...event, detail: actorDetail('alice', { cancelReason: 'wrong inputs' }) }]);
 * // detail: '{"actor":"alice","cancelReason":"wrong inputs"}'
 */
import { canonicalJson } from '../core/hash.js';
import { randomHex } from '../core/ids.js';
import type { EventRow, NewEvent, Ports } from '../store/index.js';

/** The actor of what the server does on its own. */
export const SYSTEM_ACTOR = 'system';

/** The actor of a schedule's fires. */
export function scheduleActor(scheduleId: string): string {
  return `schedule:${scheduleId}`;
}

/**
 * An event's `detail` (canonical JSON) with its actor and extra fields (undefined and null
 * fields left out); null when there is nothing to record.
 */
export function actorDetail(actor: string | null | undefined, extra: Record<string, unknown> = {}): string | null {
  const fields: Record<string, unknown> = {};
  if (actor) fields.actor = actor;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== null) fields[k] = v;
  return Object.keys(fields).length ? canonicalJson(fields) : null;
}

/** Who makes a change and the trace it belongs to: recorded on the change's events. */
export interface Audit {
  actor: string;
  traceId: string;
}

/** What the server does on its own (start-up preloads, offline imports): actor `system`, a fresh trace. */
export function systemAudit(): Audit {
  return { actor: SYSTEM_ACTOR, traceId: randomHex(16) };
}

/** What an audit event is about: an event no run owns (`dag.*`, `schedule.*`). */
export type AuditSubject = Pick<NewEvent, 'tenant' | 'type' | 'dagId' | 'status' | 'tsMs' | 'scheduleId'>;

/**
 * Appends an audit event (no run: `runId` '', no step) with `who`'s actor and trace, `extra`
 * in its detail, through the change's transaction (`tx`: its ports), so it commits with the
 * change or not at all. Resolves with the stored row (seq and hash assigned).
 *
 * @example
 * const row = await appendAuditEvent(tx, { tenant, type: 'dag.disabled', dagId, status: 'disabled', tsMs: now }, who, { version });
 */
export async function appendAuditEvent(tx: Pick<Ports, 'events'>, e: AuditSubject, who: Audit, extra: Record<string, unknown> = {}): Promise<EventRow> {
  return (await tx.events.append([auditEvent(e, who, extra)]))[0]!;
}

/** The audit event {@link appendAuditEvent} appends (for a caller that appends it with others). */
export function auditEvent(e: AuditSubject, who: Audit, extra: Record<string, unknown> = {}): NewEvent {
  return { ...e, runId: '', stepId: null, traceId: who.traceId, detail: actorDetail(who.actor, extra) };
}
