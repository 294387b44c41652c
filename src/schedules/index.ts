/**
 * The schedules core (pure: no HTTP, no SQL, no engine; the clock is an argument): cron
 * parsing and validation, IANA time zones from the runtime's ICU data, fire times across
 * daylight-saving changes, and ISO-8601 durations for catch-up windows. docs/SCHEDULES.md has
 * the syntax, the DST rules with worked examples, and why this evaluator and not a library.
 *
 * @example
 * const cron = parseCron('30 2 * * *');
 * const tz = checkTimeZone('Europe/Berlin');
 * if (!cron.ok) throw validationError(cron.issue, 'body'); // 400 naming body.cron
 * if (!tz.ok) throw validationError(tz.issue, 'body');
 * nextFires(cron.value, tz.value, Date.now(), 5);
 */
export { parseCron, CRON_MACROS, MAX_CRON_LENGTH, type Cron } from './cron.js';
export { checkTimeZone, timeZone, TimeZone, MAX_OFFSET_MS } from './zone.js';
export { nextFire, nextFires, firesBetween, SEARCH_HORIZON_MS, type FiresInWindow } from './fire.js';
export { upcoming, formatLocal, formatOffset, type FireTime } from './upcoming.js';
export { parseDuration, MAX_DURATION_MS } from './duration.js';
export {
  validationError,
  CRON_FIELDS,
  type CronField,
  type Result,
  type ScheduleIssue,
  type ScheduleIssueCode,
} from './issues.js';
