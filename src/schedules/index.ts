/**
 * Schedules. The core (pure: no HTTP, no SQL, no engine; the clock is an argument): cron
 * parsing and validation, IANA time zones from the runtime's ICU data, fire times across
 * daylight-saving changes, ISO-8601 durations for catch-up windows, the schedule document
 * (model.ts) and the catch-up decision (catchup.ts). On top of it, the resource
 * (service.ts, over the store) and the firing scheduler (firer.ts, which starts runs). docs/SCHEDULES.md has
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
export { scheduleDocumentSchema, scheduleReplaceSchema, normalizeSchedule, OVERLAP_POLICIES, CATCHUP_POLICIES, LAST_FIRE_STATUSES, type ScheduleDocument, type ScheduleSpec } from './model.js';
export { planDueFires, ON_TIME_GRACE_MS, MAX_CATCHUP_FIRES } from './catchup.js';
export { ScheduleFirer, fireRunToken, FIRE_TOKEN_PREFIX } from './firer.js';
export { ScheduleService, scheduleView, scheduleExportRecords, type ScheduleView } from './service.js';
export { signSchedule, verifyScheduleSignature, SCHEDULE_PAYLOAD_TYPE } from './signature.js';
