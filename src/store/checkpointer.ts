/**
 * WAL checkpoints off the scheduler's thread, while the database is being written. With
 * SQLite's automatic checkpoint (every 1,000 WAL pages) the committing connection itself copies
 * the WAL back into the database and fsyncs both files, inside whichever group commit crossed
 * the threshold: every ~100 chain hops one hop took several ms more (the benchmark's per-step
 * p99). Here a worker thread with its own connection runs `wal_checkpoint(PASSIVE)` every
 * {@link INTERVAL_MS} (PASSIVE never blocks the writer, which keeps appending to the WAL
 * meanwhile and restarts it once it was fully copied back), and the main connection's automatic
 * checkpoint is raised to a backstop ({@link BACKSTOP_PAGES}) that only matters if this thread
 * stalls. Durability is unchanged: a commit is durable once in the WAL (synchronous=NORMAL:
 * across kill -9).
 *
 * On demand: the thread is a whole V8 isolate and Node environment (≈ 8 MB of RSS), which an
 * idle server does not need. It starts once {@link WAKE_COMMITS} transactions committed while it
 * was not running (long before the WAL nears SQLite's own 1,000-page checkpoint, which is in
 * force meanwhile), and it retires by itself once every frame was copied back and nothing new
 * came for {@link IDLE_MS}; the main connection's automatic checkpoint is back in force when it
 * exits. So the start-up's few writes and a quiet server cost no thread.
 *
 * The thread's code is src/store/checkpoint-worker.cjs, found through `workerSpec('checkpointer')`
 * in every mode: the file from source, `dist/checkpointer.cjs` in the bundle, and in the single
 * executable the same bundle embedded as an asset and run with `eval: true` (a SEA has no file
 * to hand a Worker; the same way as the engine's step worker). It dlopens the native addon the
 * main thread loaded. With a logger, it says `WAL checkpoints on a background thread` the first
 * time its first checkpoint ran, or warns when it could not start (SQLite's automatic checkpoint
 * stays).
 *
 * @example
 * const c = Checkpointer.start(sqlite, logger); // null for :memory: or ORCH_BACKGROUND_CHECKPOINT=0
 * c?.committed();                               // after each commit (Store.tx does it)
 * await c?.stop();                              // before closing the database
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { sqliteNativeBindingFile, workerSpec } from '../core/runtime.js';

const INTERVAL_MS = 100;
/** The thread retires after this long with every frame copied back and no new one. */
export const IDLE_MS = 30_000;
/** Commits without a running thread that start it. */
export const WAKE_COMMITS = 32;
const BACKSTOP_PAGES = 20_000;
const DEFAULT_PAGES = 1000;

/** What the checkpointer logs through (pino's Logger fits). */
export interface CheckpointLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Tuning for tests; the defaults are {@link IDLE_MS} and {@link WAKE_COMMITS}. */
export interface CheckpointerOptions {
  idleMs?: number;
  wakeCommits?: number;
}

type FromWorker = { ready?: { busy: number; log: number; checkpointed: number }; failed?: string; idle?: true };

export class Checkpointer {
  private stopped = false;
  /** The thread, from its start until its exit. */
  private worker: Worker | null = null;
  /** The thread said it retires: commits count towards the next one again. */
  private retiring = false;
  /** It could not start (or its connection could not open): SQLite checkpoints inside commits. */
  private unavailable = false;
  private announced = false;
  /** Commits since the last thread started (or retired). */
  private commits = 0;
  /** Commits, counted for the running thread (it skips a checkpoint when none came). */
  private readonly shared = new Int32Array(new SharedArrayBuffer(4));
  /** Resolves when the current thread has exited (its connection closed). */
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    private readonly sqlite: Database.Database,
    private readonly log: CheckpointLog | undefined,
    private readonly idleMs: number,
    private readonly wakeCommits: number,
  ) {}

  /**
   * Background checkpoints for a file database, started on demand ({@link committed}); null
   * (and nothing changed) for an in-memory one or when ORCH_BACKGROUND_CHECKPOINT=0.
   */
  static start(sqlite: Database.Database, log?: CheckpointLog, opts: CheckpointerOptions = {}): Checkpointer | null {
    if (sqlite.memory || !sqlite.name || process.env.ORCH_BACKGROUND_CHECKPOINT === '0') return null;
    return new Checkpointer(sqlite, log, opts.idleMs ?? IDLE_MS, opts.wakeCommits ?? WAKE_COMMITS);
  }

  /** Whether the thread is running now (for tests and metrics). */
  get running(): boolean {
    return this.worker !== null;
  }

  /** A transaction committed: the {@link WAKE_COMMITS}th one without a thread starts it. */
  committed(): void {
    Atomics.add(this.shared, 0, 1);
    if ((this.worker !== null && !this.retiring) || this.stopped || this.unavailable) return;
    if (++this.commits >= this.wakeCommits && this.worker === null) this.spawn();
  }

  private spawn(): void {
    this.commits = 0;
    this.retiring = false;
    const spec = workerSpec('checkpointer');
    let worker: Worker;
    try {
      worker = new Worker(spec.filename, {
        ...spec.options,
        workerData: { file: this.sqlite.name, intervalMs: INTERVAL_MS, idleMs: this.idleMs, addon: sqliteNativeBindingFile(), commits: this.shared },
      });
    } catch (err) {
      this.fail(err);
      return;
    }
    this.worker = worker;
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (m: FromWorker) => {
      if (m.failed !== undefined) this.fail(m.failed);
      if (m.idle) this.retiring = true;
      if (!m.ready || this.stopped || !this.sqlite.open) return;
      this.sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
      if (!this.announced) this.log?.info({ intervalMs: INTERVAL_MS, backstopPages: BACKSTOP_PAGES, idleMs: this.idleMs, first: m.ready }, 'WAL checkpoints on a background thread');
      this.announced = true;
    });
    worker.on('error', (err) => this.fail(err, 'failed'));
    worker.on('exit', () => {
      if (this.sqlite.open) this.sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_PAGES}`);
      this.worker = null;
      // Commits that came while it retired start the next one now rather than later.
      if (this.retiring && this.commits >= this.wakeCommits && !this.stopped && !this.unavailable) this.spawn();
    });
    // After the listeners: adding a 'message' listener refs the worker again, and a process
    // whose scheduler was never drained (tests, CLI tools) would then never exit.
    worker.unref();
  }

  private fail(err: unknown, what = 'unavailable'): void {
    if (!this.unavailable) this.log?.warn({ err }, `background WAL checkpointer ${what}; SQLite checkpoints inside commits`);
    this.unavailable = true;
  }

  /**
   * Stops the thread if it runs (the main connection's automatic checkpoint comes back) and
   * resolves once it has exited, so that closing the database after it leaves the main
   * connection the last one (SQLite then checkpoints and removes the -wal and -shm files) and
   * nothing writes into the folder afterwards. No thread starts after it.
   */
  stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      if (this.sqlite.open) this.sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_PAGES}`);
      if (this.worker) {
        this.worker.ref(); // awaited: the process stays up until the thread is gone
        this.worker.postMessage('stop');
      }
    }
    return this.exited;
  }
}
