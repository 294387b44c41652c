/**
 * Helpers of the SQLite ports (sqlite-ports.ts, sqlite-lifecycle.ts).
 *
 * A synchronous store call as the ports' Promise: settled with its result or its error (the
 * statement ran already: one microtask, no thread hop).
 *
 * @example
 * get: (t, id) => settled(() => store.runs.getForTenant(t, id)),
 */
export function settled<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** A primary-key or unique conflict (the row exists already): ports answer it as data, not an error. */
export function isKeyConflict(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Runs an insert: true when it inserted, false when the row exists already (a key conflict; the transaction goes on). */
export function inserted(insert: () => void): boolean {
  try {
    insert();
    return true;
  } catch (e) {
    if (isKeyConflict(e)) return false;
    throw e;
  }
}
