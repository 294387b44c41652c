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

/**
 * The first wall-clock minute ≥ `from` that `c` matches, or -1 when none is ≤ `limit`
 * (both in minutes since 1970-01-01 wall clock).
 */
export function nextWallMinute(c: Cron, from: number, limit: number): number {
  let day = Math.floor(from / 1440);
  const rest = from - day * 1440;
  let h = Math.floor(rest / 60);
  let mi = rest - h * 60;
  const limitDay = Math.floor(limit / 1440);
  while (day <= limitDay) {
    const { y, m, d } = civilFromDays(day);
    if ((c.monthMask & (1 << m)) === 0) {
      day = m === 12 ? daysFromCivil(y + 1, 1, 1) : daysFromCivil(y, m + 1, 1);
      h = mi = 0;
      continue;
    }
    if (!dayMatches(c, d, weekday(day))) {
      day++;
      h = mi = 0;
      continue;
    }
    const nh = c.hourNext[h]!;
    if (nh < 0) {
      day++;
      h = mi = 0;
      continue;
    }
    if (nh !== h) {
      h = nh;
      mi = 0;
    }
    const nm = c.minuteNext[mi]!;
    if (nm < 0) {
      mi = 0;
      if (++h === 24) {
        day++;
        h = 0;
      }
      continue;
    }
    const found = day * 1440 + h * 60 + nm;
    return found <= limit ? found : -1;
  }
  return -1;
}
