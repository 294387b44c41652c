/**
 * Waiting for a condition instead of a fixed delay: a loaded 2-core machine makes any fixed
 * sleep too short some day, and a timing bound fails for reasons that are not the behaviour
 * under test.
 *
 * @example await until(() => pool.stats().running === 8, 'eight steps running');
 */
import assert from 'node:assert/strict';

/** Resolves once `cond()` holds (checked every `everyMs`), failing with `what` after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    assert.ok(Date.now() < deadline, `${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
