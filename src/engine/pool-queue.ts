/** The pool's FIFO of waiting steps: O(1) push/shift, cancelled items skipped lazily. */
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
