/** A FIFO of waiting steps: O(1) push/shift, cancelled items skipped lazily. */
export class TaskQueue<E extends { state: string }> {
  private items: E[] = [];
  private head = 0;

  push(e: E): void {
    this.items.push(e);
  }

  /** The oldest item still `queued`, without removing it. */
  peek(): E | undefined {
    while (this.head < this.items.length && this.items[this.head]!.state !== 'queued') this.head++;
    this.compact();
    return this.items[this.head];
  }

  /** Removes the item `peek()` returned. */
  shift(): void {
    this.head++;
    this.compact();
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * The pool's waiting steps, one FIFO per host key, with counts per key (a step is counted from
 * the moment it is accepted, also while its plugin is still being copied and it is not in a
 * FIFO yet).
 */
export class KeyedQueues<E extends { state: string; readonly key: string }> {
  private readonly queues = new Map<string, TaskQueue<E>>();
  private readonly counts = new Map<string, number>();
  /** Steps waiting, all keys. */
  size = 0;

  count(e: E): void {
    this.size++;
    this.counts.set(e.key, (this.counts.get(e.key) ?? 0) + 1);
  }

  uncount(e: E): void {
    this.size--;
    const n = (this.counts.get(e.key) ?? 1) - 1;
    if (n > 0) this.counts.set(e.key, n);
    else this.counts.delete(e.key);
  }

  /** Puts a counted step in its key's FIFO. */
  push(e: E): void {
    let q = this.queues.get(e.key);
    if (!q) this.queues.set(e.key, (q = new TaskQueue<E>()));
    q.push(e);
  }

  waiting(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Each key's FIFO in turn (empty ones are dropped as they are met). */
  *fifos(): Generator<[string, TaskQueue<E>]> {
    for (const [key, q] of this.queues) {
      if (!q.peek()) {
        this.queues.delete(key);
        continue;
      }
      yield [key, q];
      if (!q.peek()) this.queues.delete(key);
    }
  }
}
