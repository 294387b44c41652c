/**
 * The scheduler's only timers (retry back-offs, run timeouts; schedule fires use one of their
 * own) in one min-heap keyed on due time, served by a single wake-up armed for the earliest
 * entry (`wakeAt`: a `setTimeout`, or the clock's own when a test drives time). Entries are
 * persisted by their owners (`steps.next_attempt_ms`, a run's start + timeout, a schedule's
 * next fire), so a restart rebuilds the heap; cancelled entries are not removed but skipped when
 * due (`fire` decides).
 *
 * @example
 * const timers = new TimerHeap(clock, (e) => console.log('due', e));
 * timers.add(clock.now() + 500, { kind: 'retry' });
 */
import { MinHeap, wakeAt, type Clock } from '../../core/index.js';

interface Entry<T> {
  due: number;
  seq: number;
  value: T;
}

export class TimerHeap<T> {
  private readonly heap = new MinHeap<Entry<T>>((x, y) => x.due < y.due || (x.due === y.due && x.seq < y.seq));
  private seq = 0;
  private cancel: (() => void) | null = null;
  private armedFor = Infinity;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly fire: (value: T) => void,
  ) {}

  get size(): number {
    return this.heap.size;
  }

  /** Due time of the earliest entry (Infinity when empty). */
  get next(): number {
    return this.heap.peek()?.due ?? Infinity;
  }

  add(due: number, value: T): void {
    if (this.stopped) return;
    this.heap.push({ due, seq: this.seq++, value });
    if (due < this.armedFor) this.arm();
  }

  /** Clears the timer and every entry (drain, tests). */
  stop(): void {
    this.stopped = true;
    this.cancel?.();
    this.cancel = null;
    this.heap.clear();
  }

  private arm(): void {
    this.cancel?.();
    this.cancel = null;
    this.armedFor = Infinity;
    const top = this.heap.peek();
    if (!top || this.stopped) return;
    this.armedFor = top.due;
    this.cancel = wakeAt(this.clock, top.due, () => this.run());
  }

  private run(): void {
    this.cancel = null;
    this.armedFor = Infinity;
    const now = this.clock.now();
    while (this.heap.size && this.heap.peek()!.due <= now && !this.stopped) this.fire(this.heap.pop()!.value);
    this.arm();
  }
}
