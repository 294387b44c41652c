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
import { MinHeap, type Clock } from '../core/index.js';

const MAX_DELAY_MS = 2_147_483_647;

interface Entry<T> {
  due: number;
  seq: number;
  value: T;
}

export class TimerHeap<T> {
  private readonly heap = new MinHeap<Entry<T>>((x, y) => x.due < y.due || (x.due === y.due && x.seq < y.seq));
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly fire: (value: T) => void,
  ) {}

  get size(): number {
    return this.heap.size;
  }

  add(due: number, value: T): void {
    if (this.stopped) return;
    this.heap.push({ due, seq: this.seq++, value });
    if (due < this.armedFor) this.arm();
  }

  /** Clears the timer and every entry (drain, tests). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.heap.clear();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = Infinity;
    const top = this.heap.peek();
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
    while (this.heap.size && this.heap.peek()!.due <= now && !this.stopped) this.fire(this.heap.pop()!.value);
    this.arm();
  }
}
