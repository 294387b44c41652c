/**
 * Fire times of a cron expression in a time zone, with the daylight-saving rules of
 * docs/SCHEDULES.md. A fixed hour field (`30 2 * * *`, `0 9-17 * * *`):
 * - a wall-clock time that a spring-forward skips fires once, at the first instant after the
 *   gap (the instant of the change);
 * - a wall-clock time that a fall-back repeats fires once, at its first occurrence.
 * An hour field with a wildcard or a step (`*`, `*\/2`, `0-23/3`) follows elapsed time: it
 * fires at every instant whose wall-clock time matches — a repeated hour elapses twice and
 * fires twice, an hour inside a gap never elapses and does not fire — so `0 * * * *` fires
 * once per elapsed hour and `*\/15 * * * *` every 15 elapsed minutes.
 * A fire is an instant; two rules that land on one instant are one fire.
 *
 * @example
 * const cron = parseCron('30 2 * * *');
 * if (cron.ok) nextFire(cron.value, 'Europe/Berlin', Date.parse('2024-03-30T12:00:00Z'));
 * // Date.parse('2024-03-31T01:00:00Z'): 02:30 does not exist that night; 03:00 CEST is next
 */
import type { Cron } from './cron.js';
import { nextWallMinute } from './calendar.js';
import { MAX_OFFSET_MS, timeZone, type TimeZone } from './zone.js';

const MINUTE = 60_000;
/** How far ahead a search goes before it answers "never" (rare dates such as 29 February). */
export const SEARCH_HORIZON_MS = 50 * 366 * 86_400_000;

/** The instants whose wall-clock time is `w` (ascending: 0, 1 or 2 of them). */
function instantsOf(z: TimeZone, w: number, out: number[]): void {
  out.length = 0;
  z.spans(w - MAX_OFFSET_MS, w + MAX_OFFSET_MS, (sp) => {
    const t = w - sp.offset;
    if (t >= sp.start && t < sp.end && out[out.length - 1] !== t) out.push(t);
  });
  out.sort((a, b) => a - b);
}

/** The instant that ends the spring-forward gap containing wall-clock time `w`. */
function gapEnd(z: TimeZone, w: number): number {
  let prev: number | undefined;
  let found = NaN;
  z.spans(w - MAX_OFFSET_MS, w + MAX_OFFSET_MS, (sp) => {
    if (Number.isNaN(found) && prev !== undefined && sp.start + prev <= w && w < sp.start + sp.offset) found = sp.start;
    prev = sp.offset;
  });
  if (Number.isNaN(found)) throw new Error(`no instant and no gap for wall time ${w} in ${z.name}`);
  return found;
}

/** Smallest and largest offset in force at some instant of [a, b]. */
function offsetBounds(z: TimeZone, a: number, b: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  z.spans(a, b, (sp) => {
    if (sp.offset < lo) lo = sp.offset;
    if (sp.offset > hi) hi = sp.offset;
  });
  return [lo, hi];
}

function zoneOf(tz: string | TimeZone): TimeZone {
  return typeof tz === 'string' ? timeZone(tz) : tz;
}

const scratch: number[] = [];

/**
 * The first fire strictly after `afterMs` (UTC ms), or `null` when there is none within
 * {@link SEARCH_HORIZON_MS}. `tz` is a name `checkTimeZone` accepted, or a {@link TimeZone}.
 *
 * @example
 * nextFire(cron, 'UTC', Date.parse('2026-01-01T00:00:00Z'));
 */
export function nextFire(cron: Cron, tz: string | TimeZone, afterMs: number): number | null {
  const z = zoneOf(tz);
  const limit = Math.floor(afterMs / MINUTE) + SEARCH_HORIZON_MS / MINUTE;
  // Fast path: the offset in force at afterMs still holds at the first match after it. A
  // fixed hour also needs a wall time no earlier span showed (its first occurrence).
  const sp = z.spanAt(afterMs);
  if (sp.offset % MINUTE === 0) {
    const w = nextWallMinute(cron, Math.floor((afterMs + sp.offset) / MINUTE) + 1, limit);
    if (w < 0) return null;
    const t = w * MINUTE - sp.offset;
    if (t < sp.end && (cron.hourElapsed || w * MINUTE >= sp.start + MAX_OFFSET_MS)) return t;
  }
  // Any fire t > afterMs belongs to a wall-clock time > afterMs + (least offset soon after).
  const [minOff] = offsetBounds(z, afterMs, afterMs + 2 * MAX_OFFSET_MS);
  let w = Math.floor((afterMs + minOff) / MINUTE);
  let best = Infinity;
  for (;;) {
    w = nextWallMinute(cron, w, limit);
    if (w < 0) break;
    const wallMs = w * MINUTE;
    // Every instant of this or any later wall time is ≥ wallMs − (largest offset nearby).
    if (best !== Infinity && wallMs - offsetBounds(z, wallMs - MAX_OFFSET_MS, wallMs + MAX_OFFSET_MS)[1] >= best) break;
    instantsOf(z, wallMs, scratch);
    if (scratch.length === 0) {
      if (cron.hourElapsed) {
        w++;
        continue;
      }
      const t = gapEnd(z, wallMs);
      if (t > afterMs && t < best) best = t;
    } else {
      // A fixed hour fires at the first occurrence only; an elapsed-time hour at each.
      const n = cron.hourElapsed ? scratch.length : 1;
      for (let i = 0; i < n; i++) {
        const t = scratch[i]!;
        if (t > afterMs && t < best) best = t;
      }
    }
    w++;
  }
  return best === Infinity ? null : best;
}

/**
 * The next `count` fires strictly after `afterMs`, ascending (fewer when the expression stops
 * firing within the horizon).
 *
 * @example
 * nextFires(cron, 'America/New_York', Date.now(), 5);
 */
export function nextFires(cron: Cron, tz: string | TimeZone, afterMs: number, count: number): number[] {
  const z = zoneOf(tz);
  const out: number[] = [];
  let t: number | null = afterMs;
  while (out.length < count && (t = nextFire(cron, z, t)) !== null) out.push(t);
  return out;
}

/** Fires in a window, see {@link firesBetween}. */
export interface FiresInWindow {
  /** The fires in (fromMs, toMs], ascending: the newest `limit` of them. */
  fires: number[];
  /** How many older fires of the window were left out to keep to `limit`. */
  omitted: number;
}

/**
 * The fires in (fromMs, toMs] — what a scheduler that was down from `fromMs` missed. At most
 * `limit` (default 1000) are listed: the newest ones, which catch-up policies start; `omitted`
 * counts the older rest, so none is silently lost.
 *
 * @example
 * firesBetween(cron, 'UTC', lastCheckedMs, Date.now()); // { fires: [...], omitted: 0 }
 */
export function firesBetween(
  cron: Cron,
  tz: string | TimeZone,
  fromMs: number,
  toMs: number,
  limit = 1000,
): FiresInWindow {
  const z = zoneOf(tz);
  const keep = Math.max(0, Math.floor(limit));
  let fires: number[] = [];
  let seen = 0;
  let t: number | null = fromMs;
  while ((t = nextFire(cron, z, t)) !== null && t <= toMs) {
    seen++;
    fires.push(t);
    if (fires.length >= 2 * keep + 1) fires = fires.slice(fires.length - keep);
  }
  if (fires.length > keep) fires = fires.slice(fires.length - keep);
  return { fires, omitted: seen - fires.length };
}
