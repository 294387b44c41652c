// The background WAL checkpointer's thread (started by checkpointer.ts through
// workerSpec('checkpointer') in src/core/runtime.ts). Plain CommonJS so that the same file runs
// in every mode without a loader: from source (`require('better-sqlite3')` resolves from here),
// bundled by esbuild into dist/checkpointer.cjs, and embedded in the single executable as an
// asset run with `eval: true` (the bundle is self-contained; only built-ins are required).
//
// workerData: { file, intervalMs, idleMs, addon, commits } — `addon` is the path of the
// better-sqlite3 native addon the main thread loaded (bundle and single executable), undefined
// from source; `commits` an Int32Array on shared memory the main thread counts its commits in:
// once every frame was copied back, a tick with no new commit skips the checkpoint (a PASSIVE
// checkpoint of an unchanged WAL still takes locks and reads the WAL index).
// Messages to the parent: { ready: { busy, log, checkpointed } } after the first checkpoint
// ran, or { failed: message } when the database or the addon cannot be opened, or
// { idle: true } just before it retires: every frame of the WAL was copied back and the WAL
// did not change for idleMs (the parent starts a new thread when writes come back).
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require('better-sqlite3');

/** One PASSIVE checkpoint: never waits for the writer; returns SQLite's three counters. */
function checkpoint(db) {
  const [r] = db.pragma('wal_checkpoint(PASSIVE)');
  return { busy: r.busy, log: r.log, checkpointed: r.checkpointed };
}

let db;
let first;
// Read before each checkpoint: a commit after the read is seen at the next tick.
let seenCommits = Atomics.load(workerData.commits, 0);
try {
  let nativeBinding;
  if (workerData.addon) {
    const mod = { exports: {} };
    process.dlopen(mod, workerData.addon);
    nativeBinding = mod.exports;
  }
  db = new Database(workerData.file, { fileMustExist: true, ...(nativeBinding ? { nativeBinding } : {}) });
  db.pragma('busy_timeout = 0');
  first = checkpoint(db);
} catch (e) {
  parentPort.postMessage({ failed: String((e && e.message) || e) });
  process.exit(0);
}
parentPort.postMessage({ ready: first });
let last = first;
let quietSince = Date.now();
const timer = setInterval(() => {
  const commits = Atomics.load(workerData.commits, 0);
  const copied = last.log === last.checkpointed;
  if (commits === seenCommits && copied) {
    if (Date.now() - quietSince >= workerData.idleMs) retire();
    return;
  }
  seenCommits = commits;
  let now;
  try {
    now = checkpoint(db);
  } catch {
    return; /* busy or I/O error: try again next time */
  }
  const settled = now.log === now.checkpointed && now.log === last.log && now.checkpointed === last.checkpointed;
  last = now;
  if (!settled) quietSince = Date.now();
  else if (Date.now() - quietSince >= workerData.idleMs) retire();
}, workerData.intervalMs);

function retire() {
  parentPort.postMessage({ idle: true });
  stop();
}

function stop() {
  clearInterval(timer);
  try {
    db.close();
  } catch {
    /* closing anyway */
  }
  process.exit(0);
}
parentPort.on('message', stop);
