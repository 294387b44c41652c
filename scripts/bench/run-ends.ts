/**
 * Run ends and step `running` commit times, taken from an in-process server's committed events
 * (no polling), for the benchmark sections that run the server in their own process. Every run
 * is tracked, awaited or not yet: a run of `noop` steps can end in the commit that follows its
 * POST, before the POST's answer is read.
 *
 * @example
 * const ends = new RunEnds(schedulerEvents(server));
 * const r = await post('/runs', { dagId: 'chain40' });
 * const end = await ends.endOf(r.runId); // { type: 'run.completed', tsMs, at }
 * ends.forget(r.runId);
 */
import type { EventEmitter } from 'node:events';
import { now } from './lib.js';

/** The scheduler's `committed` events of a server started in this process (`startServer`). */
export function schedulerEvents(server: { deps: { services: { runs: unknown } } }): EventEmitter {
  return (server.deps.services.runs as { d: { scheduler: { events: EventEmitter } } }).d.scheduler.events;
}

interface Committed { type: string; runId: string; status: string; tsMs: number }
/** How a run ended: its final event type, the event's time, and when this process saw its commit (`now()`). */
export interface RunEnd { type: string; tsMs: number; at: number }

const END_TYPES = new Set(['run.completed', 'run.failed', 'run.cancelled']);

export class RunEnds {
  private readonly ends = new Map<string, RunEnd>();
  private readonly waiters = new Map<string, (end: RunEnd) => void>();
  private readonly steps = new Map<string, number[]>();

  constructor(events: EventEmitter) {
    events.on('committed', (rows: Committed[]) => {
      const at = now();
      for (const e of rows) {
        if (END_TYPES.has(e.type)) {
          const end = { type: e.type, tsMs: e.tsMs, at };
          this.ends.set(e.runId, end);
          this.waiters.get(e.runId)?.(end);
        } else if (e.type === 'step.updated' && e.status === 'running') {
          let l = this.steps.get(e.runId);
          if (!l) this.steps.set(e.runId, (l = []));
          l.push(at);
        }
      }
    });
  }

  /** Resolves once the run ended (at once if it already has). */
  endOf(runId: string): Promise<RunEnd> {
    const known = this.ends.get(runId);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => this.waiters.set(runId, resolve));
  }

  /** When this process saw each of the run's `running` step commits, in order. */
  running(runId: string): number[] {
    return this.steps.get(runId) ?? [];
  }

  /** Drops what is kept of a run (a long benchmark would otherwise keep every run). */
  forget(runId: string): void {
    this.ends.delete(runId);
    this.waiters.delete(runId);
    this.steps.delete(runId);
  }
}
