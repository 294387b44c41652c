/**
 * A stored schedule's spec compiled once (cron parsed, zone resolved, window in ms) and kept
 * by `tenant\0scheduleId` until the schedule changes (its `specHash` differs), and the next
 * fire within its `startUtc`/`endUtc` bounds.
 *
 * @example
 * const c = compiledSchedule(cache, row);
 * nextFireOf(c, Date.now()); // UTC ms, or null when it fires no more
 */
import type { ScheduleRow } from '../store/index.js';
import { nextFire } from './fire.js';
import { normalizeSchedule, type CheckedSchedule, type ScheduleDocument } from './model.js';
import { timeZone, type TimeZone } from './zone.js';

export interface CompiledSchedule extends CheckedSchedule {
  zone: TimeZone;
  specHash: string;
}

export type CompiledCache = Map<string, CompiledSchedule>;

/** Compiles a checked schedule (the zone's tables are shared per process). */
export function compile(checked: CheckedSchedule, specHash: string): CompiledSchedule {
  return { ...checked, zone: timeZone(checked.spec.timezone), specHash };
}

export function compiledSchedule(cache: CompiledCache, row: ScheduleRow): CompiledSchedule {
  const key = `${row.tenant}\0${row.scheduleId}`;
  const hit = cache.get(key);
  if (hit && hit.specHash === row.specHash) return hit;
  const c = compile(normalizeSchedule(JSON.parse(row.spec) as ScheduleDocument), row.specHash);
  cache.set(key, c);
  return c;
}

/** The first fire strictly after `afterMs` and not before `startUtc`; null after `endUtc` (inclusive) or never. */
export function nextFireOf(c: CheckedSchedule & { zone?: TimeZone }, afterMs: number): number | null {
  const from = c.startMs === null ? afterMs : Math.max(afterMs, c.startMs - 1);
  const t = nextFire(c.cron, c.zone ?? c.spec.timezone, from);
  return t === null || (c.endMs !== null && t > c.endMs) ? null : t;
}
