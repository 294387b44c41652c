/**
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
