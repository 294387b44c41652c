/**
 * What the worker threads tell the pool: a step's end (Done, Failed), its log lines, its
 * artifact requests (answered per thread by {@link SlotArtifacts}), heartbeats, and a thread
 * gone for good (its steps fail WORKER_LOST or take their abort outcome).
 *
 * @example
 * const threads = new ThreadMessages(opts, { finish: (e, r) => pool.finish(e, r), pump: () => pool.pump(), waiting: () => queue.size });
 * threads.message(slot, m);
 */
import { FromWorker, type WorkerToMain } from './protocol.js';
import { SlotArtifacts } from './pool-artifacts.js';
import type { Slot as SlotOf } from './pool-host.js';
import { capLog, endedResult, lostResult, type Entry } from './pool-entry.js';
import type { PoolSettings, StepResult } from './pool-types.js';

type Slot = SlotOf<Entry>;

export interface ThreadOwner {
  /** Ends a step with its result. */
  finish(e: Entry, r: StepResult): void;
  /** Hands queued steps to free threads. */
  pump(): void;
  /** Steps waiting for a thread. */
  waiting(): number;
}

export class ThreadMessages {
  private readonly artifacts = new WeakMap<Slot, SlotArtifacts>();

  constructor(
    private readonly opts: PoolSettings,
    private readonly owner: ThreadOwner,
  ) {}

  message(slot: Slot, m: WorkerToMain): void {
    switch (m.cmd) {
      case FromWorker.Heartbeat:
        if (this.owner.waiting() > 0) this.owner.pump(); // it may have been passed over as stalled
        return;
      case FromWorker.Done:
      case FromWorker.Failed: {
        const e = slot.inflight.get(m.taskId);
        if (e) this.owner.finish(e, endedResult(e, m, this.opts));
        return;
      }
      case FromWorker.Log: {
        const e = slot.inflight.get(m.taskId);
        if (e) e.logs = capLog(e.logs + m.lines, this.opts.maxLogBytes);
        return;
      }
      case FromWorker.WriteArtifact:
      case FromWorker.ReadArtifact:
      case FromWorker.ArtifactChunk:
      case FromWorker.ArtifactEnd:
      case FromWorker.ArtifactAbort:
        this.artifactsOf(slot).handle(m, slot.inflight.get(m.taskId)?.meta);
        return;
    }
  }

  /** A thread is gone for good: its steps fail WORKER_LOST (or take their abort outcome). */
  lost(slot: Slot, why: string): void {
    const entries = [...slot.inflight.values()];
    try {
      const tasks = entries.map((e) => e.meta.taskId);
      this.opts.onWorkerLost?.({ workerId: slot.id, reason: why, detail: slot.lastError?.message, tasks, duringStart: !slot.ready });
    } catch {
      /* an observer must not break the pool */
    }
    for (const e of entries) this.owner.finish(e, lostResult(e, why));
    this.artifacts.get(slot)?.endTask();
  }

  /** A step on `slot` ended: its open artifact streams are dropped. */
  endTask(slot: Slot, taskId: string): void {
    this.artifacts.get(slot)?.endTask(taskId);
  }

  private artifactsOf(slot: Slot): SlotArtifacts {
    let a = this.artifacts.get(slot);
    if (!a) this.artifacts.set(slot, (a = new SlotArtifacts(this.opts.artifacts, (m) => slot.host.post(slot, m))));
    return a;
  }
}
