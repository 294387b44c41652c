/**
 * The schedule document of CONTRACT §11 (what `POST /schedules`, `PUT /schedules/{id}`, a
 * preloaded `*.schedule.json` and a bundle carry) as a strict zod schema, and its
 * normalisation: defaults filled in, cron, zone and window checked, times as UTC ISO with ms.
 * The normal form is what is stored and compared (an identical body is one with the same
 * normal form).
 *
 * @example
 * const s = normalizeSchedule({ scheduleId: 'nightly', dagId: 'feeds', cron: '30 2 * * *', timezone: 'Europe/Berlin' });
 * s.spec.overlap; // 'skip'
 */
import { z } from 'zod';
import { ApiError, ID_RE } from '../core/index.js';
import { parseCron, type Cron } from './cron.js';
import { parseDuration } from './duration.js';
import { validationError } from './issues.js';
import { checkTimeZone } from './zone.js';
import { CATCHUP_POLICIES, OVERLAP_POLICIES, type CatchupPolicy, type OverlapPolicy } from './policies.js';

export * from './policies.js';

const id = z.string().regex(ID_RE, 'must match ^[a-z0-9][a-z0-9._-]{0,127}$');
const isoTime = z.iso.datetime({ offset: true });

/** The document's fields but `scheduleId` (a PUT names it in the path). */
export const scheduleFields = {
  dagId: id,
  version: z.string().min(1).max(256).optional().meta({ description: 'omitted: the newest active version at each fire' }),
  inputs: z.record(z.string(), z.json()).optional(),
  cron: z.string().meta({ description: '5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly' }),
  timezone: z.string().optional().meta({ description: 'IANA time-zone name (default UTC)' }),
  overlap: z.enum(OVERLAP_POLICIES).optional(),
  catchup: z
    .strictObject({ policy: z.enum(CATCHUP_POLICIES).optional(), window: z.string().optional() })
    .optional()
    .meta({ description: 'after downtime: latest (default), all or none, within window (ISO-8601 duration, default PT1H)' }),
  paused: z.boolean().optional(),
  startUtc: isoTime.optional(),
  endUtc: isoTime.optional(),
  description: z.string().max(1024).optional(),
};

/** `POST /schedules`, a preloaded file, a bundle entry. */
export const scheduleDocumentSchema = z.strictObject({ scheduleId: id, ...scheduleFields });
/** `PUT /schedules/{scheduleId}` (a `scheduleId` in the body must equal the path's). */
export const scheduleReplaceSchema = z.strictObject({ scheduleId: id.optional(), ...scheduleFields });

export type ScheduleDocument = z.infer<typeof scheduleDocumentSchema>;

/** The stored normal form: every default filled in. */
export interface ScheduleSpec {
  scheduleId: string;
  dagId: string;
  version?: string;
  inputs: Record<string, unknown>;
  cron: string;
  timezone: string;
  overlap: OverlapPolicy;
  catchup: { policy: CatchupPolicy; window: string };
  paused: boolean;
  startUtc?: string;
  endUtc?: string;
  description?: string;
}

/** A checked schedule: its normal form and the parts the firing scheduler needs. */
export interface CheckedSchedule {
  spec: ScheduleSpec;
  cron: Cron;
  windowMs: number;
  startMs: number | null;
  endMs: number | null;
}

/** Valid zone names checked once (checkTimeZone builds an `Intl.DateTimeFormat`: ~0.3 ms). */
const validZones = new Map<string, string>();
function checkZoneCached(name: string): ReturnType<typeof checkTimeZone> {
  const hit = validZones.get(name);
  if (hit !== undefined) return { ok: true, value: hit };
  const r = checkTimeZone(name);
  if (r.ok) validZones.set(name, r.value); // only valid names: a bounded set
  return r;
}

/**
 * Valid expressions compiled once per process (a `Cron` is immutable): 10,000 schedules of
 * `* * * * *` share one, and the firer's first fire of each after a start does not re-parse
 * it. Bounded: emptied when it reaches {@link MAX_CACHED_CRONS}.
 */
const validCrons = new Map<string, Cron>();
const MAX_CACHED_CRONS = 4096;
function parseCronCached(text: string): ReturnType<typeof parseCron> {
  const hit = validCrons.get(text);
  if (hit !== undefined) return { ok: true, value: hit };
  const r = parseCron(text);
  if (r.ok) {
    if (validCrons.size >= MAX_CACHED_CRONS) validCrons.clear();
    validCrons.set(text, r.value);
  }
  return r;
}

/**
 * Checks a document already shaped by {@link scheduleDocumentSchema}: a bad cron, zone or
 * window is 400 `VALIDATION_FAILED` naming `body.cron`, `body.timezone` or
 * `body.catchup.window`; `endUtc` before `startUtc` names `body.endUtc`.
 */
export function normalizeSchedule(doc: ScheduleDocument, prefix = 'body'): CheckedSchedule {
  const cron = parseCronCached(doc.cron);
  if (!cron.ok) throw validationError(cron.issue, prefix);
  const tz = checkZoneCached(doc.timezone ?? 'UTC');
  if (!tz.ok) throw validationError(tz.issue, prefix);
  const window = doc.catchup?.window ?? 'PT1H';
  const windowMs = parseDuration(window);
  if (!windowMs.ok) throw validationError(windowMs.issue, prefix);
  const startMs = doc.startUtc === undefined ? null : Date.parse(doc.startUtc);
  const endMs = doc.endUtc === undefined ? null : Date.parse(doc.endUtc);
  if (startMs !== null && endMs !== null && endMs <= startMs) {
    const field = `${prefix}.endUtc`;
    throw new ApiError('VALIDATION_FAILED', `${field}: must be after startUtc`, {
      field,
      issues: [{ field, code: 'RANGE_INVALID', message: `${field}: must be after startUtc` }],
    });
  }
  const spec: ScheduleSpec = {
    scheduleId: doc.scheduleId,
    dagId: doc.dagId,
    inputs: doc.inputs ?? {},
    cron: doc.cron,
    timezone: tz.value,
    overlap: doc.overlap ?? 'skip',
    catchup: { policy: doc.catchup?.policy ?? 'latest', window },
    paused: doc.paused ?? false,
  };
  if (doc.version !== undefined) spec.version = doc.version;
  if (startMs !== null) spec.startUtc = new Date(startMs).toISOString();
  if (endMs !== null) spec.endUtc = new Date(endMs).toISOString();
  if (doc.description !== undefined) spec.description = doc.description;
  return { spec, cron: cron.value, windowMs: windowMs.value, startMs, endMs };
}
