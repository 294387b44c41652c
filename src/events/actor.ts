/**
 * Who caused an event (docs/API.md "Actors"): the token's `sub` for a request, `schedule:<id>`
 * for a schedule's fire, `system` for what the server does on its own (start-up preloads,
 * recovery, retention). The actor (and a cancel's `reason`) travels in an event's `detail`, so
 * it is inside the hash chain, in the stream and in exports.
 *
 * @example
 * store.events.append({ ...event, detail: actorDetail('alice', { cancelReason: 'wrong inputs' }) });
 * // detail: '{"actor":"alice","cancelReason":"wrong inputs"}'
 */
import { canonicalJson } from '../core/hash.js';

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
