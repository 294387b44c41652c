/**
 * Whether plugin hosts can start here, as the pool tells its callers: the spare host `start()`
 * started (the probe) and who waits for its threads, and the start failures — the probe's
 * (every step fails at once: hosts cannot start at all) and those of one host key (tenant and
 * profile: that key's steps fail).
 *
 * @example
 * const r = new PoolReadiness<Entry>(size);
 * r.failed('demo|base', err); r.blocked('demo|base'); // true
 */
import type { PluginHost } from './pool-host.js';

export class PoolReadiness<E> {
  /** The host start() started (it may have been given to a tenant since). */
  probe: PluginHost<E> | null = null;
  private startError: Error | null = null;
  private readonly keyErrors = new Map<string, Error>();
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  /** @param size threads a host runs: the probe is ready when that many are. */
  constructor(private readonly size: number) {}

  /** A new start(): the failures are forgotten. */
  reset(): void {
    this.startError = null;
    this.keyErrors.clear();
  }

  /** The probe is alive with all its threads ready. */
  ready(): boolean {
    const p = this.probe;
    return !!p && p.state !== 'dead' && p.slots.filter((s) => s.ready && !s.dead).length >= this.size;
  }

  /** Resolves once {@link ready} (checked at each {@link capacity}); rejects on a failed start or a close. */
  wait(): Promise<void> {
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Capacity appeared: the waiters go on once the probe is ready. */
  capacity(): void {
    if (this.ready()) for (const w of this.waiters.splice(0)) w.resolve();
  }

  /** Steps of `key` cannot run: hosts failed to start (for this key, or at all). */
  blocked(key: string): boolean {
    return this.startError !== null || this.keyErrors.has(key);
  }

  /** Hosts for `key` (null: the probe) failed to start. */
  failed(key: string | null, err: Error): void {
    if (key !== null) this.keyErrors.set(key, err);
    else {
      this.startError = err;
      this.reject(err);
    }
  }

  /** Every waiter fails with `err` (a failed probe, a closing pool). */
  reject(err: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(err);
  }
}
