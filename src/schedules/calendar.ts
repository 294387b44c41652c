/**
 * Wall-clock arithmetic for cron matching: days since 1970-01-01 ⇄ proleptic Gregorian
 * dates (Howard Hinnant's algorithms) and the next wall-clock minute a {@link Cron} matches.
 * A wall-clock minute is counted like a UTC one (minutes since 1970-01-01T00:00 local), so
 * this file knows nothing of time zones.
 *
 * @example
 * nextWallMinute(cron, 0, 1e9); // first match on or after 1970-01-01T00:00 (wall clock)
 */
import type { Cron } from './cron.js';

export interface CivilDate {
  y: number;
  /** 1…12 */
  m: number;
  /** 1…31 */
  d: number;
}

/** Days since 1970-01-01 of a Gregorian date. */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The Gregorian date of a day number (days since 1970-01-01). */
export function civilFromDays(days: number): CivilDate {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

/** 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
export function weekday(days: number): number {
  return (((days + 4) % 7) + 7) % 7;
}

/** Vixie cron's day rule: both restricted ⇒ either matches; otherwise both must match. */
export function dayMatches(c: Cron, d: number, dow: number): boolean {
  const domHit = (c.domMask & (1 << d)) !== 0;
  const dowHit = (c.dowMask & (1 << dow)) !== 0;
  return c.domStar || c.dowStar ? domHit && dowHit : domHit || dowHit;
}

/** Days in month `m` (1…12) of year `y`. */
export function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** The first matching minute of the day at or after `h`:`mi` (as minute of the day), or -1. */
function timeInDay(c: Cron, h: number, mi: number): number {
  let nh = c.hourNext[h]!;
  if (nh < 0) return -1;
  if (nh === h) {
    const nm = c.minuteNext[mi]!;
    if (nm >= 0) return h * 60 + nm;
    nh = c.hourNext[h + 1]!;
    if (nh < 0) return -1;
  }
  return nh * 60 + c.minuteNext[0]!;
}

/**
 * The first wall-clock minute ≥ `from` that `c` matches, or -1 when none is ≤ `limit`
 * (both in minutes since 1970-01-01 wall clock).
 */
export function nextWallMinute(c: Cron, from: number, limit: number): number {
  const first = Math.floor(from / 1440);
  let { y, m, d } = civilFromDays(first);
  const rest = from - first * 1440;
  let h = Math.floor(rest / 60);
  let mi = rest - h * 60;
  for (let dayNum = first; dayNum * 1440 <= limit; ) {
    if ((c.monthMask & (1 << m)) !== 0) {
      const dim = daysInMonth(y, m);
      for (let dow = weekday(dayNum); d <= dim; d++, dayNum++, dow = dow === 6 ? 0 : dow + 1) {
        if (dayMatches(c, d, dow)) {
          const t = timeInDay(c, h, mi);
          if (t >= 0) {
            const found = dayNum * 1440 + t;
            return found <= limit ? found : -1;
          }
        }
        h = mi = 0;
      }
    } else {
      dayNum += daysInMonth(y, m) - d + 1;
    }
    d = 1;
    h = mi = 0;
    if (++m === 13) {
      m = 1;
      y++;
    }
  }
  return -1;
}
