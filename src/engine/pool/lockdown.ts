/**
 * Takes `Worker` away from code running in a plugin host. Node 20's permission model needs
 * `--allow-worker` for the host's own step threads, and a thread started with `execArgv: []`
 * runs WITHOUT the permission model (checked on Node 20.20: it may read any file and spawn
 * programs). So before any plugin code loads, the `Worker` export of `node:worker_threads` is
 * replaced by one that always throws `ERR_ACCESS_DENIED` (for `require`, `import` and the ESM
 * named export alike, via `syncBuiltinESMExports`). This is a JavaScript-level guard, not a
 * kernel boundary: docs/SECURITY.md says what holds if it is ever bypassed.
 *
 * @example
 * const RealWorker = lockWorkerThreads(); // the host keeps the real class for its own threads
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { Worker as WorkerClass } from 'node:worker_threads';

type WorkerCtor = typeof WorkerClass;

let original: WorkerCtor | undefined;

function denied(): never {
  throw Object.assign(new Error('plugins may not start threads (Worker is not available in a plugin host)'), {
    code: 'ERR_ACCESS_DENIED',
  });
}

/** Replaces `Worker` for everyone in this thread; returns the real class (idempotent). */
export function lockWorkerThreads(): WorkerCtor {
  if (original) return original;
  const wt = createRequire(import.meta.url)('node:worker_threads') as { Worker: WorkerCtor };
  original = wt.Worker;
  Object.defineProperty(wt, 'Worker', { value: denied, writable: false, configurable: false, enumerable: true });
  syncBuiltinESMExports();
  return original;
}
