/**
 * Waiting for a condition instead of a fixed delay: a loaded 2-core machine makes any fixed
 * sleep too short some day, and a timing bound fails for reasons that are not the behaviour
 * under test.
 *
 * @example await until(() => pool.stats().running === 8, 'eight steps running');
 */
import assert from 'node:assert/strict';

/** Resolves once `cond()` holds (checked every `everyMs`), failing with `what` (read at the failure) after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, what: string | (() => string), ms = 20_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() >= deadline) assert.fail(`${typeof what === 'function' ? what() : what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
