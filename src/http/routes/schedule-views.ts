/**
 * Response schemas of the schedule resource (CONTRACT §11, docs/SCHEDULES.md): what
 * `scheduleView` produces, with `upcoming` on `GET /schedules/{scheduleId}`. Like views.ts,
 * they name the OpenAPI components and a server started with response validation (every test
 * server) checks every schedule answer against them; the type check at the bottom ties them to
 * `ScheduleView` at compile time.
 */
import { z } from 'zod';
import { CATCHUP_POLICIES, LAST_FIRE_STATUSES, OVERLAP_POLICIES, type ScheduleView } from '../../schedules/index.js';
import { component } from '../components.js';
import { Id, ListOf } from './common.js';
import { sameKeys, Utc, type SameKeys } from './views.js';

const Actor = z.string().nullable();

const FireTimeSchema = component(
  'FireTime',
  z.strictObject({
    utc: Utc,
    local: z.string().meta({ description: "the zone's wall-clock time with the offset in force", examples: ['2026-03-29T03:30:00.000+02:00'] }),
  }),
);

const scheduleFields = {
  scheduleId: Id,
  dagId: Id,
  version: z.string().optional().meta({ description: 'absent: the newest active version at each fire' }),
  inputs: z.record(z.string(), z.unknown()),
  cron: z.string(),
  timezone: z.string().meta({ description: 'IANA time-zone name' }),
  overlap: z.enum(OVERLAP_POLICIES),
  catchup: z.strictObject({ policy: z.enum(CATCHUP_POLICIES), window: z.string() }),
  paused: z.boolean(),
  startUtc: Utc.optional(),
  endUtc: Utc.optional(),
  description: z.string().optional(),
  createdUtc: Utc,
  updatedUtc: Utc,
  createdBy: Actor.meta({ description: "who created it: a token's sub, or null when not recorded" }),
  updatedBy: Actor.meta({ description: 'who made the last create, replace, pause or resume, or null' }),
  nextFireUtc: Utc.nullable().meta({ description: 'null while paused or when the schedule can fire no more' }),
  lastFire: z
    .strictObject({ fireUtc: Utc, status: z.enum(LAST_FIRE_STATUSES), runId: z.string().optional(), error: z.string().optional() })
    .nullable()
    .meta({ description: 'the last cron fire decided (null until the first)' }),
  missed: z.strictObject({ count: z.int().min(0), lastUtc: Utc.nullable() }),
  bufferedFireUtc: Utc.optional().meta({ description: 'a fire waiting for the active run (overlap buffer_one, cancel_other)' }),
  signedBy: z.array(z.string()).optional().meta({ description: 'key ids of the signatures the schedule document was verified with' }),
  upcoming: z.array(FireTimeSchema).optional().meta({ description: 'GET /schedules/{scheduleId}: the next 5 fire times' }),
};

const EXAMPLE_SCHEDULE = {
  scheduleId: 'policy-nightly', dagId: 'policy-refresh', inputs: { image: 'registry.local/app:1.2.0' }, cron: '30 2 * * *', timezone: 'Europe/Berlin',
  overlap: 'skip', catchup: { policy: 'latest', window: 'PT1H' }, paused: false, createdUtc: '2026-11-28T17:17:31.123Z', updatedUtc: '2026-11-28T17:17:31.123Z',
  createdBy: 'ops-admin', updatedBy: 'ops-admin', nextFireUtc: '2026-11-29T01:30:00.000Z', lastFire: null, missed: { count: 0, lastUtc: null },
};

/** A schedule as the API shows it. */
export const ScheduleSchema = component('Schedule', z.strictObject(scheduleFields).meta({ examples: [EXAMPLE_SCHEDULE] }));
export const ScheduleListSchema = component('ScheduleList', ListOf(ScheduleSchema));

// The schema has exactly the fields of the domain's view (compile time; values at run time).
sameKeys<SameKeys<z.output<typeof ScheduleSchema>, ScheduleView>>();
