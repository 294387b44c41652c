/**
 * Per-tenant FIFO queues served round-robin across tenants: each pick moves on to the next
 * tenant, so a tenant with ten thousand entries waits its turn like a tenant with one.
 *
 * @example
 * const ring = new TenantRing<string>();
 * ring.push('a', 'a1'); ring.push('a', 'a2'); ring.push('b', 'b1');
 * ring.take()?.item; // 'a1'
 * ring.take()?.item; // 'b1'
 * ring.take()?.item; // 'a2'
 */

/** A FIFO with O(1) push and shift (a head index over an array, compacted now and then). */
export class Fifo<T> {
  private a: T[] = [];
  private head = 0;

  get size(): number {
    return this.a.length - this.head;
  }

  push(x: T): void {
    this.a.push(x);
  }

  peek(): T | undefined {
    return this.a[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.a.length) return undefined;
    const x = this.a[this.head];
    this.a[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.a.length) {
      this.a = this.a.slice(this.head);
      this.head = 0;
    }
    return x;
  }

  /** Removes one item (O(n)); false when absent. */
  remove(x: T): boolean {
    const i = this.a.indexOf(x, this.head);
    if (i < 0) return false;
    this.a.splice(i, 1);
    return true;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.a.length; i++) yield this.a[i]!;
  }
}

export class TenantRing<T> {
  private readonly queues = new Map<string, Fifo<T>>();
  /** Tenants with a non-empty queue, in ring order. */
  private ring: string[] = [];
  private cursor = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  sizeOf(tenant: string): number {
    return this.queues.get(tenant)?.size ?? 0;
  }

  tenants(): string[] {
    return [...this.ring];
  }

  push(tenant: string, item: T): void {
    let q = this.queues.get(tenant);
    if (!q) {
      q = new Fifo<T>();
      this.queues.set(tenant, q);
      this.ring.push(tenant);
    }
    q.push(item);
    this.count++;
  }

  /**
   * The head of the next tenant's queue (round-robin from where the last pick stopped) among
   * the tenants `eligible` accepts, without removing it. The ring moves past that tenant.
   */
  peekNext(eligible?: (tenant: string) => boolean): { tenant: string; item: T } | undefined {
    const n = this.ring.length;
    for (let i = 0; i < n; i++) {
      const pos = (this.cursor + i) % n;
      const tenant = this.ring[pos]!;
      if (eligible && !eligible(tenant)) continue;
      this.cursor = (pos + 1) % n;
      return { tenant, item: this.queues.get(tenant)!.peek()! };
    }
    return undefined;
  }

  /** Like {@link peekNext}, and removes the item. */
  take(eligible?: (tenant: string) => boolean): { tenant: string; item: T } | undefined {
    const p = this.peekNext(eligible);
    if (p) this.shift(p.tenant);
    return p;
  }

  /** Removes the head of a tenant's queue. */
  shift(tenant: string): T | undefined {
    const q = this.queues.get(tenant);
    const x = q?.shift();
    if (x !== undefined) this.count--;
    if (q && q.size === 0) this.drop(tenant);
    return x;
  }

  /** Removes one item of a tenant's queue (O(n)). */
  remove(tenant: string, item: T): boolean {
    const q = this.queues.get(tenant);
    if (!q || !q.remove(item)) return false;
    this.count--;
    if (q.size === 0) this.drop(tenant);
    return true;
  }

  private drop(tenant: string): void {
    this.queues.delete(tenant);
    const i = this.ring.indexOf(tenant);
    this.ring.splice(i, 1);
    if (i < this.cursor) this.cursor--;
    if (this.cursor >= this.ring.length) this.cursor = 0;
  }
}
