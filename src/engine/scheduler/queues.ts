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

/**
 * How the step slots (the pool's capacity) are shared among tenants (docs/RUNS.md, "Fair
 * shares"): a tenant holds at most `perTenant` slots; a tenant that already has a step in
 * flight may only take a slot that leaves `reserve` slots free, which a tenant with nothing in
 * flight may take. Invariant: in flight ≤ capacity − reserve + (tenants with steps in flight),
 * so a tenant with nothing in flight gets a slot at once whenever fewer than `reserve` other
 * tenants have steps in flight, however many steps they have and however long those run.
 *
 * @example
 * const shares = new StepShares({ capacity: 64, perTenant: 32, reserve: 8 });
 * shares.mayStart('a'); // true
 * shares.started('a');  // … 56 times: now a may not take more, b may
 * shares.ended('a');
 */
export class StepShares {
  private readonly byTenant = new Map<string, number>();
  private count = 0;
  readonly capacity: number;
  readonly perTenant: number;
  readonly reserve: number;

  constructor(o: { capacity: number; perTenant?: number; reserve?: number }) {
    this.capacity = Math.max(1, o.capacity);
    this.perTenant = Math.max(1, Math.min(o.perTenant ?? this.capacity, this.capacity));
    this.reserve = Math.max(0, Math.min(o.reserve ?? 0, this.capacity - 1));
  }

  /** Steps in flight, all tenants. */
  get total(): number {
    return this.count;
  }

  of(tenant: string): number {
    return this.byTenant.get(tenant) ?? 0;
  }

  /** Whether the tenant may take one more slot now. */
  mayStart(tenant: string): boolean {
    const mine = this.of(tenant);
    if (mine >= this.perTenant) return false;
    return this.count < (mine === 0 ? this.capacity : this.capacity - this.reserve);
  }

  started(tenant: string): void {
    this.byTenant.set(tenant, this.of(tenant) + 1);
    this.count++;
  }

  ended(tenant: string): void {
    const n = this.of(tenant) - 1;
    if (n > 0) this.byTenant.set(tenant, n);
    else this.byTenant.delete(tenant);
    this.count--;
  }
}
