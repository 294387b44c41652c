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
 * The thread's code is src/store/checkpoint-worker.cjs, found through `workerSpec('checkpointer')`
 * in every mode: the file from source, `dist/checkpointer.cjs` in the bundle, and in the single
 * executable the same bundle embedded as an asset and run with `eval: true` (a SEA has no file
 * to hand a Worker; the same way as the engine's step worker). It dlopens the native addon the
 * main thread loaded. With a logger, it says `WAL checkpoints on a background thread` once its
 * first checkpoint ran, or warns when it could not start (SQLite's automatic checkpoint stays).
 *
 * @example
 * const c = Checkpointer.start(sqlite, logger); // null for :memory: or ORCH_BACKGROUND_CHECKPOINT=0
 * await c?.stop();                              // before closing the database
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { sqliteNativeBindingFile, workerSpec } from '../core/runtime.js';

const INTERVAL_MS = 100;
const BACKSTOP_PAGES = 20_000;
const DEFAULT_PAGES = 1000;

/** What the checkpointer logs through (pino's Logger fits). */
export interface CheckpointLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

type FromWorker = { ready?: { busy: number; log: number; checkpointed: number }; failed?: string };

export class Checkpointer {
  private stopped = false;
  /** Resolves when the thread has exited (its connection closed). */
  private readonly exited: Promise<void>;

  private constructor(
    private readonly sqlite: Database.Database,
    private readonly worker: Worker,
  ) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
  }

  /**
   * Starts the background checkpoints for a file database; null (and nothing changed) for an
   * in-memory one, when ORCH_BACKGROUND_CHECKPOINT=0, or when the thread cannot be created.
   */
  static start(sqlite: Database.Database, log?: CheckpointLog): Checkpointer | null {
    if (sqlite.memory || !sqlite.name || process.env.ORCH_BACKGROUND_CHECKPOINT === '0') return null;
    const spec = workerSpec('checkpointer');
    let worker: Worker;
    try {
      worker = new Worker(spec.filename, {
        ...spec.options,
        workerData: { file: sqlite.name, intervalMs: INTERVAL_MS, addon: sqliteNativeBindingFile() },
      });
    } catch (err) {
      log?.warn({ err }, 'background WAL checkpointer unavailable; SQLite checkpoints inside commits');
      return null;
    }
    const c = new Checkpointer(sqlite, worker);
    worker.on('message', (m: FromWorker) => {
      if (m.failed !== undefined) log?.warn({ err: m.failed }, 'background WAL checkpointer unavailable; SQLite checkpoints inside commits');
      if (!m.ready || c.stopped || !sqlite.open) return;
      sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
      log?.info({ intervalMs: INTERVAL_MS, backstopPages: BACKSTOP_PAGES, first: m.ready }, 'WAL checkpoints on a background thread');
    });
    const restore = () => {
      if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_PAGES}`);
    };
    worker.on('error', (err) => {
      log?.warn({ err }, 'background WAL checkpointer failed; SQLite checkpoints inside commits');
      restore();
    });
    worker.on('exit', restore);
    // After the listeners: adding a 'message' listener refs the worker again, and a process
    // whose scheduler was never drained (tests, CLI tools) would then never exit.
    worker.unref();
    return c;
  }

  /**
   * Stops the thread (the main connection's automatic checkpoint comes back) and resolves once
   * it has exited, so that closing the database after it leaves the main connection the last
   * one (SQLite then checkpoints and removes the -wal and -shm files) and nothing writes into
   * the folder afterwards.
   */
  stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      if (this.sqlite.open) this.sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_PAGES}`);
      this.worker.ref(); // awaited: the process stays up until the thread is gone
      this.worker.postMessage('stop');
    }
    return this.exited;
  }
}
