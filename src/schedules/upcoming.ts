/**
 * Fire times as a client sees them: UTC ISO-8601 (`…Z`) and the zone's local time with its
 * offset (`2024-03-31T03:00:00.000+02:00`), for `GET /schedules/{id}`'s `upcoming`.
 *
 * @example
 * upcoming(cron, 'Europe/Berlin', systemClock); // [{ utc: '…Z', local: '…+01:00' }, …]
 */
import type { Clock } from '../core/time.js';
import type { Cron } from './cron.js';
import { nextFires } from './fire.js';
import { timeZone, type TimeZone } from './zone.js';

/** One fire time in both forms. */
export interface FireTime {
  /** UTC, `2024-03-31T01:00:00.000Z`. */
  utc: string;
  /** Local wall-clock time with the offset in force, `2024-03-31T03:00:00.000+02:00`. */
  local: string;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `±hh:mm` (`±hh:mm:ss` for the rare historical offset with seconds). */
export function formatOffset(offsetMs: number): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const total = Math.round(Math.abs(offsetMs) / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${sign}${pad(h)}:${pad(m)}${s ? `:${pad(s)}` : ''}`;
}

/**
 * An instant as local ISO-8601 time in `tz` with its offset.
 *
 * @example
 * formatLocal(Date.parse('2024-03-31T01:00:00Z'), 'Europe/Berlin'); // '2024-03-31T03:00:00.000+02:00'
 */
export function formatLocal(utcMs: number, tz: string | TimeZone): string {
  const z = typeof tz === 'string' ? timeZone(tz) : tz;
  const off = z.offsetAt(utcMs);
  return new Date(utcMs + off).toISOString().slice(0, -1) + formatOffset(off);
}

/**
 * The next `count` (default 5) fires after the clock's now, in UTC and local form.
 *
 * @example
 * upcoming(cron, 'Australia/Lord_Howe', { now: () => Date.now() }, 5);
 */
export function upcoming(cron: Cron, tz: string | TimeZone, clock: Clock, count = 5): FireTime[] {
  const z = typeof tz === 'string' ? timeZone(tz) : tz;
  return nextFires(cron, z, clock.now(), count).map((t) => ({
    utc: new Date(t).toISOString(),
    local: formatLocal(t, z),
  }));
}
