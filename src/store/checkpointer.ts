/**
 * WAL checkpoints off the scheduler's thread. With SQLite's automatic checkpoint (every 1,000
 * WAL pages) the committing connection itself copies the WAL back into the database and
 * fsyncs both files, inside whichever group commit crossed the threshold: every ~100 chain
 * hops one hop took several ms more (the benchmark's per-step p99). Here a worker thread with
 * its own connection runs `wal_checkpoint(PASSIVE)` every {@link INTERVAL_MS} (PASSIVE never
 * blocks the writer, which keeps appending to the WAL meanwhile and restarts it once it was
 * fully copied back), and the main connection's automatic checkpoint is raised to a backstop
 * ({@link BACKSTOP_PAGES}) that only matters if this thread stalls. Durability is unchanged:
 * a commit is durable once in the WAL (synchronous=NORMAL: across kill -9).
 *
 * Needs better-sqlite3 loadable in the worker (source mode, or a bundle beside node_modules);
 * otherwise (the single executable) nothing changes: SQLite's automatic checkpoint stays.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

const INTERVAL_MS = 100;
const BACKSTOP_PAGES = 20_000;
const DEFAULT_PAGES = 1000;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let db;
try {
  const Database = require(workerData.module);
  db = new Database(workerData.file, { fileMustExist: true });
  db.pragma('busy_timeout = 0');
} catch (e) {
  parentPort.postMessage({ failed: String(e && e.message) });
  process.exit(0);
}
parentPort.postMessage({ ready: true });
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy or I/O error: try again next time */ }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  try { db.close(); } catch {}
  process.exit(0);
});
`;

export class Checkpointer {
  private stopped = false;

  private constructor(
    private readonly sqlite: Database.Database,
    private readonly worker: Worker,
  ) {}

  /**
   * Starts the background checkpoints for a file database; null (and nothing changed) for an
   * in-memory one or when better-sqlite3 cannot be loaded in a worker.
   */
  static start(sqlite: Database.Database): Checkpointer | null {
    if (sqlite.memory || !sqlite.name || process.env.ORCH_BACKGROUND_CHECKPOINT === '0') return null;
    let module: string;
    try {
      module = createRequire(import.meta.url).resolve('better-sqlite3');
    } catch {
      return null;
    }
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, file: sqlite.name, intervalMs: INTERVAL_MS } });
    } catch {
      return null;
    }
    const c = new Checkpointer(sqlite, worker);
    worker.on('message', (m: { ready?: boolean; failed?: string }) => {
      if (m.ready && !c.stopped && sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    });
    const restore = () => {
      if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_PAGES}`);
    };
    worker.on('error', restore);
    worker.on('exit', restore);
    // After the listeners: adding a 'message' listener refs the worker again, and a process
    // whose scheduler was never drained (tests, CLI tools) would then never exit.
    worker.unref();
    return c;
  }

  /** Stops the thread (the main connection's automatic checkpoint comes back). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sqlite.open) this.sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_PAGES}`);
    this.worker.postMessage('stop');
  }
}
