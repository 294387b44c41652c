/**
 * Group commit: the scheduler marks what changed (runs, steps, attempts, artifact ownership),
 * stages the events that describe it and the actions that must wait for durability (dispatch
 * to a worker, aborts, callbacks); one transaction then writes the current state of everything
 * marked, with its events, and only after it commits are the actions run and the events
 * published. A failed transaction leaves everything pending for the next try.
 *
 * @example
 * const gc = new GroupCommit(store);
 * gc.markStep(step); gc.event({ ... });
 * const batch = gc.take();
 * const rows = store.tx(() => gc.write(batch));
 * gc.done(batch); // then run batch.after and publish rows
 */
import { namedHashes } from '../../artifacts/index.js';
import type { ArtifactRow, EventRow, NewEvent, Store } from '../../store/index.js';
import { attemptRow, stepRow, type AttemptRec, type LiveRun, type LiveStep } from './live.js';

export interface Batch {
  runs: Set<LiveRun>;
  steps: Set<LiveStep>;
  attempts: Set<AttemptRec>;
  /** Ownership rows, each with the run that holds it (a step log). */
  artifacts: Array<ArtifactRow & { holder: string }>;
  events: NewEvent[];
  /** Run after the commit, in order. */
  after: Array<() => void>;
}

function emptyBatch(): Batch {
  return { runs: new Set(), steps: new Set(), attempts: new Set(), artifacts: [], events: [], after: [] };
}

export class GroupCommit {
  private pending: Batch = emptyBatch();

  constructor(private readonly store: Store) {}

  get isPending(): boolean {
    const p = this.pending;
    return p.runs.size + p.steps.size + p.attempts.size + p.artifacts.length + p.events.length + p.after.length > 0;
  }

  markRun(run: LiveRun): void {
    this.pending.runs.add(run);
  }

  markStep(step: LiveStep): void {
    this.pending.steps.add(step);
  }

  markAttempt(a: AttemptRec): void {
    this.pending.attempts.add(a);
  }

  artifact(row: ArtifactRow & { holder: string }): void {
    this.pending.artifacts.push(row);
  }

  event(e: NewEvent): void {
    this.pending.events.push(e);
  }

  /** Runs `fn` once the changes staged so far are durable. */
  afterCommit(fn: () => void): void {
    this.pending.after.push(fn);
  }

  /** Everything pending, as a batch to write; pending starts empty again. */
  take(): Batch {
    const b = this.pending;
    this.pending = emptyBatch();
    return b;
  }

  /**
   * Writes a batch: call inside a transaction. Returns the event rows (seq and hash assigned)
   * in the order they were staged.
   */
  write(b: Batch): EventRow[] {
    const q = this.store.runs;
    for (const r of b.runs) q.updateRun(r.runId, r.status, r.outputsHash, r.endedMs, r.cancelReason, r.cancelledBy);
    if (b.steps.size > 0) q.writeSteps(Array.from(b.steps, stepRow));
    if (b.attempts.size > 0) q.writeAttempts(Array.from(b.attempts, attemptRow));
    for (const a of b.artifacts) {
      this.store.artifacts.insert(a);
      this.store.refs.add(a.tenant, a.hash, a.holder);
    }
    // Outputs that name artifacts keep them (src/artifacts/refs.ts); most outputs are too
    // short to hold a hash and cost one length check.
    for (const s of b.steps) {
      if (s.status === 'completed' && s.outputsJson !== null && s.outputsJson.length >= 64) {
        this.store.refs.addOwned(s.run.tenant, s.run.runId, namedHashes(s.outputsJson));
      }
    }
    return this.store.events.appendMany(b.events);
  }

  /** Puts a batch whose transaction failed back in front of what is pending now. */
  restore(b: Batch): void {
    const p = this.pending;
    for (const r of p.runs) b.runs.add(r);
    for (const s of p.steps) b.steps.add(s);
    for (const a of p.attempts) b.attempts.add(a);
    b.artifacts.push(...p.artifacts);
    b.events.push(...p.events);
    b.after.push(...p.after);
    this.pending = b;
    this.store.events.invalidate();
  }
}
