/**
 * The Idempotency-Key ledger (CONTRACT §3) as the request pipeline uses it: a key is claimed
 * (or its earlier outcome found) in one transaction, a fresh request's answer is recorded (inside
 * the request's transaction when it has one), a failed request releases its key. Answers what
 * it finds as data; the HTTP edge (`http/idempotency.ts`) turns that into errors and replays.
 *
 * @example
 * const ledger = new IdempotencyLedger(store);
 * const c = ledger.claim(key, requestHash, clock.now(), ttlMs);
 * if (c.kind === 'fresh') ledger.transaction(() => { work(); ledger.complete(key, answer); });
 */
import type { IdemClaim, IdemKey, IdempotencyLedgerPort, RecordedAnswer } from '../core/idempotency.js';
import type { Store } from './index.js';

export type { IdemClaim, RecordedAnswer };

export class IdempotencyLedger implements IdempotencyLedgerPort {
  constructor(private readonly store: Store) {}

  /** Claims `key` for a request of `requestHash`, or finds its unexpired earlier outcome. */
  claim(key: IdemKey, requestHash: string, nowMs: number, ttlMs: number): IdemClaim {
    const { store } = this;
    return store.tx((): IdemClaim => {
      let row = store.idem.get(key);
      if (row && row.createdMs < nowMs - ttlMs) {
        store.idem.expire(nowMs - ttlMs);
        row = undefined;
      }
      if (!row) {
        store.idem.insertInFlight(key, requestHash, nowMs);
        return { kind: 'fresh' };
      }
      if (row.requestHash !== requestHash) return { kind: 'reused' };
      if (row.state === 'in_flight') return { kind: 'in_flight' };
      return {
        kind: 'done',
        answer: {
          status: row.responseStatus ?? 200,
          body: row.responseBody === null ? undefined : JSON.parse(row.responseBody),
          headers: row.responseHeaders ? JSON.parse(row.responseHeaders) : {},
        },
      };
    });
  }

  /** Records the answer of a fresh request (inside the caller's transaction when there is one). */
  complete(key: IdemKey, a: RecordedAnswer): void {
    // An answer naming a run (POST /runs, :cancel) is pruned with that run (retention).
    const runId = (a.body as { runId?: unknown } | null | undefined)?.runId;
    this.store.idem.complete(key, a.status, JSON.stringify(a.body ?? null), JSON.stringify(a.headers ?? {}), typeof runId === 'string' ? runId : null);
  }

  /** Forgets the claim of a request that failed, so the client may retry it. */
  release(key: IdemKey): void {
    this.store.idem.release(key);
  }

  /** Runs `fn` in one store transaction (nested calls join it). */
  transaction<T>(fn: () => T): T {
    return this.store.tx(fn);
  }
}
