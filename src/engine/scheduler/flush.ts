/**
 * The group commit's writer: at most ONE flush in flight — a group commit
 * (`ports.commitBatch`), or a request's transaction that writes the pending batch with its own
 * changes ({@link Flusher.transact}, a cancel). While one is in flight the next batch builds in
 * {@link GroupCommit}; it is written when that one resolves. When a flush commits, its
 * after-commit actions run in order and its events are published (`published`); when it fails,
 * its batch goes back in front of what is pending ({@link GroupCommit.restore}) and is retried
 * with a growing delay. On SQLite the commit's Promise is already settled, so a flush resolves in
 * the turn that started it.
 *
 * @example
 * const flusher = new Flusher({ ports, gc, logger, kick: () => loop.kick(), published });
 * flusher.flush();               // end of a turn
 * await flusher.settled();       // drain: everything pending is written
 */
import type { Logger } from 'pino';
import { LeaseLost, type CommitBatch, type EventRow, type Ports, type StorePorts } from '../../store/index.js';
import { commitBatchOf, type Batch, type GroupCommit } from './commit.js';
import type { Fencing } from './node.js';

export interface FlusherParts {
  ports: StorePorts;
  gc: GroupCommit;
  logger: Logger;
  /** Asks for a turn (the loop's). */
  kick: () => void;
  /** A batch committed: run its after-commit actions, in order, and publish its event rows. */
  published: (batch: Batch, rows: EventRow[]) => void;
  /** One node of several (`node.ts`): every batch is fenced; none on the embedded store. */
  fencing?: Fencing;
}

const noWork = (): void => {};

export class Flusher {
  private failures = 0;
  /** The flush in flight; settles once its after-commit work has run. Null when none. */
  private inFlight: Promise<void> | null = null;

  constructor(private readonly p: FlusherParts) {}

  /**
   * Group commit of everything pending, unless a flush is in flight (then the batch goes on
   * building and is written when that one resolves). On failure the batch goes back in front of
   * what is pending and is retried.
   */
  flush(): void {
    const { gc, logger } = this.p;
    if (this.inFlight || !gc.isPending) return;
    const batch = gc.take();
    let commit: Promise<EventRow[]>;
    let written: CommitBatch | undefined;
    try {
      written = this.rowsOf(batch);
      commit = this.p.ports.commitBatch(written);
    } catch (err) {
      commit = Promise.reject(err);
    }
    this.inFlight = commit.then(
      (rows) => {
        this.inFlight = null;
        this.failures = 0;
        if (written?.fence) this.p.fencing?.committed(written.fence);
        try {
          this.p.published(batch, rows);
        } catch (err) {
          logger.error({ err }, 'publishing a group commit failed');
        }
        if (gc.isPending) this.p.kick();
      },
      (err: unknown) => {
        this.inFlight = null;
        gc.restore(batch);
        if (err instanceof LeaseLost && this.p.fencing) {
          // Nothing was written: the lost runs are dropped, the rest is written again at once.
          this.p.fencing.lost(err.runIds);
          return;
        }
        const wait = Math.min(5000, 20 * 2 ** Math.min(this.failures++, 8));
        logger.error({ err, retryInMs: wait }, 'group commit failed; will retry');
        setTimeout(() => this.p.kick(), wait).unref();
      },
    );
  }

  /**
   * Runs `work` (which may change live state), writes everything pending, then builds the
   * answer with `answer`, all in the transaction `commit` opens (the request's, with its
   * idempotency record); publishes after it committed. It waits for the flush in flight first
   * and holds the place of one until its transaction ends, so two flushes never overlap. If the
   * transaction fails, the changes stay pending for the next turn.
   */
  async transact<T>(commit: (fn: (tx: Ports) => Promise<T>) => Promise<T>, work: () => void, answer: (tx: Ports) => Promise<T>): Promise<T> {
    for (let w = work; ; w = noWork) {
      try {
        return await this.transactOnce(commit, w, answer);
      } catch (e) {
        // A node's batch refused for runs another node took: drop them, write the rest again
        // with the request (its work already changed the live state, which stays pending).
        if (!(e instanceof LeaseLost && this.p.fencing)) throw e;
        this.p.fencing.lost(e.runIds);
      }
    }
  }

  private async transactOnce<T>(commit: (fn: (tx: Ports) => Promise<T>) => Promise<T>, work: () => void, answer: (tx: Ports) => Promise<T>): Promise<T> {
    const { gc } = this.p;
    while (this.inFlight) await this.inFlight;
    let release!: () => void;
    this.inFlight = new Promise<void>((r) => (release = r));
    let batch: Batch | undefined;
    let written: CommitBatch | undefined;
    let rows: EventRow[] = [];
    try {
      const out = await commit(async (tx) => {
        work();
        batch = gc.take();
        written = this.rowsOf(batch);
        rows = await tx.writeBatch(written);
        return answer(tx);
      });
      if (batch) {
        if (written?.fence) this.p.fencing?.committed(written.fence);
        this.p.published(batch, rows);
      }
      return out;
    } catch (e) {
      if (batch) gc.restore(batch);
      throw e;
    } finally {
      this.inFlight = null;
      release();
      this.p.kick();
    }
  }

  /** The rows a batch writes, fenced when this is one node of several. */
  private rowsOf(batch: Batch): CommitBatch {
    const rows = commitBatchOf(batch);
    if (this.p.fencing) rows.fence = this.p.fencing.fenceOf(batch);
    return rows;
  }

  /**
   * Flushes until nothing is pending or in flight (each flush's after-commit work done). A flush
   * that fails ends it: its batch stays pending, and what it would have written is redone from
   * the database by the next start's recovery.
   */
  async settled(): Promise<void> {
    for (;;) {
      while (this.inFlight) await this.inFlight;
      if (!this.p.gc.isPending) return;
      const failures = this.failures;
      this.flush();
      while (this.inFlight) await this.inFlight;
      if (this.failures > failures) return;
    }
  }
}
