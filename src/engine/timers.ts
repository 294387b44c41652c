/**
 * The scheduler's only timers (retry back-offs, run timeouts) in one min-heap keyed on due
 * time, served by a single `setTimeout` armed for the earliest entry. Entries are persisted by
 * their owners (`steps.next_attempt_ms`, a run's start + timeout), so a restart rebuilds the
 * heap; cancelled entries are not removed but skipped when due (`fire` decides).
 *
 * @example
 * const timers = new TimerHeap(clock, (e) => console.log('due', e));
 * timers.add(clock.now() + 500, { kind: 'retry' });
 */
import type { Clock } from '../core/index.js';

const MAX_DELAY_MS = 2_147_483_647;

interface Entry<T> {
  due: number;
  seq: number;
  value: T;
}

export class TimerHeap<T> {
  private readonly a: Entry<T>[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly fire: (value: T) => void,
  ) {}

  get size(): number {
    return this.a.length;
  }

  add(due: number, value: T): void {
    if (this.stopped) return;
    this.push({ due, seq: this.seq++, value });
    if (due < this.armedFor) this.arm();
  }

  /** Clears the timer and every entry (drain, tests). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.a.length = 0;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = Infinity;
    const top = this.a[0];
    if (!top || this.stopped) return;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, top.due - this.clock.now()));
    this.armedFor = top.due;
    this.timer = setTimeout(() => this.run(), delay);
    this.timer.unref();
  }

  private run(): void {
    this.timer = null;
    this.armedFor = Infinity;
    const now = this.clock.now();
    while (this.a.length && this.a[0]!.due <= now && !this.stopped) this.fire(this.pop()!.value);
    this.arm();
  }

  private less(x: Entry<T>, y: Entry<T>): boolean {
    return x.due < y.due || (x.due === y.due && x.seq < y.seq);
  }

  private push(e: Entry<T>): void {
    const a = this.a;
    let i = a.push(e) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  private pop(): Entry<T> | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
      if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
      if (m === i) break;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
    return top;
  }
}
