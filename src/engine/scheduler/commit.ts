/**
 * Group commit: the scheduler marks what changed (runs, steps, attempts, artifact ownership),
 * stages the events that describe it and the actions that must wait for durability (dispatch
 * to a worker, aborts, callbacks); one transaction then writes the current state of everything
 * marked, with its events (the store port's `commitBatch`), and only after it commits are the
 * actions run and the events published. A failed transaction leaves everything pending for the
 * next try ({@link GroupCommit.restore}).
 *
 * @example
 * const gc = new GroupCommit();
 * gc.markStep(step); gc.event({ ... });
 * const batch = gc.take();
 * const rows = await ports.commitBatch(commitBatchOf(batch)); // then run batch.after, publish rows
 */
import { namedHashes } from '../../artifacts/index.js';
import type { ArtifactRow, CommitBatch, NewEvent } from '../../store/index.js';
import { attemptRow, runUpdate, stepRow, type AttemptRec, type LiveRun, type LiveStep } from './live.js';

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
  }

  /**
   * Forgets everything pending for these runs (a node lost them: `LeaseLost`); the other runs'
   * changes stay, in order. After-commit actions stay too: each checks its step's state first,
   * and a dropped run's steps no longer run (`node.ts`).
   */
  drop(runIds: ReadonlySet<string>): void {
    const p = this.pending;
    for (const r of p.runs) if (runIds.has(r.runId)) p.runs.delete(r);
    for (const s of p.steps) if (runIds.has(s.run.runId)) p.steps.delete(s);
    for (const a of p.attempts) if (runIds.has(a.step.run.runId)) p.attempts.delete(a);
    p.artifacts = p.artifacts.filter((a) => !runIds.has(a.holder));
    p.events = p.events.filter((e) => !runIds.has(e.runId));
  }
}

/**
 * The rows a batch writes: the current state of every run, step and attempt marked (taken now:
 * what changes after this is marked again for the next batch), the ownership rows and events as
 * staged, and a reference for every artifact a completed step's outputs name.
 */
export function commitBatchOf(b: Batch): CommitBatch {
  const refs: Array<{ tenant: string; hash: string; holder: string }> = [];
  // Outputs that name artifacts keep them (src/artifacts/refs.ts); most outputs are too short
  // to hold a hash and cost one length check.
  for (const s of b.steps) {
    if (s.status === 'completed' && s.outputsJson !== null && s.outputsJson.length >= 64) {
      for (const hash of namedHashes(s.outputsJson)) refs.push({ tenant: s.run.tenant, hash, holder: s.run.runId });
    }
  }
  return {
    // Copies, like the steps' and attempts' rows: the live run may change before the write runs.
    runs: b.runs.size > 0 ? Array.from(b.runs, runUpdate) : [],
    steps: b.steps.size > 0 ? Array.from(b.steps, stepRow) : [],
    attempts: b.attempts.size > 0 ? Array.from(b.attempts, attemptRow) : [],
    artifacts: b.artifacts,
    refs,
    events: b.events,
  };
}
