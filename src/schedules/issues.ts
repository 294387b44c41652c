/**
 * Validation results of the schedules core: a value, or one issue shaped like the
 * `details.issues[]` entries of a `VALIDATION_FAILED` answer (`{field, code, message}`).
 * Nothing here answers HTTP; {@link validationError} turns an issue into the shared `ApiError`
 * for a caller that wants to throw it.
 *
 * @example
 * const r = parseCron('61 * * * *');
 * if (!r.ok) throw validationError(r.issue); // 400 VALIDATION_FAILED, details.field 'cron'
 */
import { ApiError } from '../core/errors.js';

/** The five cron fields, in order. */
export const CRON_FIELDS = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;
export type CronField = (typeof CRON_FIELDS)[number];

/** Issue codes of this module. */
export type ScheduleIssueCode = 'CRON_INVALID' | 'CRON_NEVER_FIRES' | 'TIMEZONE_UNKNOWN' | 'DURATION_INVALID';

export interface ScheduleIssue {
  /** The request field: `cron`, `timezone`, `catchup.window` (or what the caller named it). */
  field: string;
  code: ScheduleIssueCode;
  /** Human-readable, starts with the field: `cron: hour: 24 is out of range 0-23`. */
  message: string;
  /** For cron issues about one of the five fields: which. */
  cronField?: CronField;
}

export type Result<T> = { ok: true; value: T } | { ok: false; issue: ScheduleIssue };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T>(field: string, code: ScheduleIssueCode, message: string, cronField?: CronField): Result<T> {
  const issue: ScheduleIssue = { field, code, message: `${field}: ${message}` };
  if (cronField !== undefined) issue.cronField = cronField;
  return { ok: false, issue };
}

/**
 * The issue as the shared `ApiError('VALIDATION_FAILED')` with `details = {field, issues}`
 * (the shape `src/http/body.ts` and `parseDag` use). `prefix` names where the field sits in the
 * request (e.g. `body`), giving `body.cron`.
 */
export function validationError(issue: ScheduleIssue, prefix?: string): ApiError {
  const field = prefix ? `${prefix}.${issue.field}` : issue.field;
  const entry = { ...issue, field };
  return new ApiError('VALIDATION_FAILED', prefix ? `${prefix}.${issue.message}` : issue.message, {
    field,
    issues: [entry],
  });
}
