/**
 * The schedule document's enumerations (CONTRACT §11), without its zod schema (model.ts): the
 * CLI client lists them in its flags' help and must not load zod to start.
 *
 * @example
 * import { OVERLAP_POLICIES } from '../schedules/policies.js';
 */
export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'allow_all', 'cancel_other'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];
export const CATCHUP_POLICIES = ['latest', 'all', 'none'] as const;
export type CatchupPolicy = (typeof CATCHUP_POLICIES)[number];
/** What became of a schedule's last cron fire (`lastFire.status`; docs/SCHEDULES.md). */
export const LAST_FIRE_STATUSES = ['started', 'buffered', 'skipped', 'missed', 'failed'] as const;
export type LastFireStatus = (typeof LAST_FIRE_STATUSES)[number];
