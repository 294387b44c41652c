/**
 * Which of a schedule's due fires start a run and which are missed (pure). A fire is due when
 * its time has come and nothing decided it yet; normally that is one fire, a few milliseconds
 * old. After downtime (or a wake-up later than {@link ON_TIME_GRACE_MS}) there may be many:
 * the catch-up policy decides, within its window, and every fire it does not start is counted
 * as missed — none is dropped without a trace.
 *
 * @example
 * planDueFires({ policy: 'latest', windowMs: 3600_000 }, fires, null, now);
 * // { start: [newest fire in the window], missed: { count, firstMs, lastMs } | null }
 */
import type { CatchupPolicy } from './model.js';

/** A single due fire at most this late is an ordinary fire, not a catch-up (a busy event loop, a slow commit). */
export const ON_TIME_GRACE_MS = 60_000;
/** `catchup.policy: all` starts at most this many fires of one downtime; older ones are missed. */
export const MAX_CATCHUP_FIRES = 100;

export interface MissedFires {
  count: number;
  /** The oldest and the newest missed fire (UTC ms). */
  firstMs: number;
  lastMs: number;
}

export interface DuePlan {
  /** Fires to start, ascending (the overlap policy still applies to each). */
  start: number[];
  missed: MissedFires | null;
}

/**
 * @param due the due fires, ascending: the newest {@link MAX_CATCHUP_FIRES} or so
 * @param older the older due fires `due` leaves out (all missed), or null
 */
export function planDueFires(
  catchup: { policy: CatchupPolicy; windowMs: number },
  due: readonly number[],
  older: MissedFires | null,
  nowMs: number,
): DuePlan {
  if (due.length === 0) return { start: [], missed: older };
  if (due.length === 1 && older === null && nowMs - due[0]! <= ON_TIME_GRACE_MS) return { start: [due[0]!], missed: null };
  const inWindow = due.filter((t) => t > nowMs - catchup.windowMs);
  const start =
    catchup.policy === 'none' ? [] : catchup.policy === 'latest' ? inWindow.slice(-1) : inWindow.slice(-MAX_CATCHUP_FIRES);
  const started = new Set(start);
  const listed = due.filter((t) => !started.has(t));
  if (listed.length === 0) return { start, missed: older };
  return {
    start,
    missed: {
      count: (older?.count ?? 0) + listed.length,
      firstMs: older?.firstMs ?? listed[0]!,
      lastMs: listed[listed.length - 1]!,
    },
  };
}
