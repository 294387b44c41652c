/** The clock domain code is given, so tests can control time. */
export interface Clock {
  now(): number;
  /**
   * Optional: calls `fn` once `now()` has reached `dueMs`, and returns a function that cancels
   * the call. A clock that tests drive by hand implements it, so timers follow that clock;
   * without it, {@link wakeAt} uses a `setTimeout` for the difference.
   */
  wakeAt?(dueMs: number, fn: () => void): () => void;
}

export const systemClock: Clock = { now: () => Date.now() };

/** `setTimeout` fires at once above 2³¹-1 ms; longer waits re-arm from the callback. */
const MAX_DELAY_MS = 2_147_483_647;

/**
 * Calls `fn` once `clock` reads `dueMs` or later (never before: a wake-up that comes early, as
 * after a jump of the wall clock, waits again). The timer does not keep the process alive.
 * Returns the cancel function.
 *
 * @example
 * const cancel = wakeAt(systemClock, Date.now() + 500, () => console.log('due'));
 */
export function wakeAt(clock: Clock, dueMs: number, fn: () => void): () => void {
  if (clock.wakeAt) return clock.wakeAt(dueMs, fn);
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const arm = () => {
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, dueMs - clock.now()));
    timer = setTimeout(() => {
      if (cancelled) return;
      if (clock.now() < dueMs) arm();
      else fn();
    }, delay);
    timer.unref();
  };
  arm();
  return () => {
    cancelled = true;
    clearTimeout(timer);
  };
}

/** UTC ISO-8601 with milliseconds and `Z`. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function isoOrNull(ms: number | null | undefined): string | null {
  return ms == null ? null : new Date(ms).toISOString();
}
