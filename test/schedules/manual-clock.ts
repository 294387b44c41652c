/**
 * A clock the test moves by hand, injected in-process into a real server (`startServer`'s
 * `clock`): `now()` reads it and `wakeAt` — which the engine's timers use — fires when the test
 * moves it past a due time. Never reachable from the CLI.
 */
import type { Clock } from '../../src/core/index.js';

interface Waiter {
  due: number;
  fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private waiters: Waiter[] = [];

  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  wakeAt(due: number, fn: () => void): () => void {
    const w: Waiter = { due, fn, cancelled: false };
    this.waiters.push(w);
    if (due <= this.t) setImmediate(() => this.release());
    return () => {
      w.cancelled = true;
    };
  }

  /** Moves time to `ms` (never backwards) and wakes what came due, earliest first. */
  set(ms: number): void {
    this.t = Math.max(this.t, ms);
    this.release();
  }

  advance(ms: number): void {
    this.set(this.t + ms);
  }

  private release(): void {
    const due = this.waiters.filter((w) => !w.cancelled && w.due <= this.t).sort((a, b) => a.due - b.due);
    this.waiters = this.waiters.filter((w) => !w.cancelled && w.due > this.t);
    for (const w of due) w.fn();
  }
}
