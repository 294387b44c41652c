/**
 * The Idempotency-Key ledger (CONTRACT §3) as the request pipeline uses it, over the
 * `IdempotencyPort` of any store: a key is claimed (or its earlier outcome found) in one
 * transaction, a fresh request's answer is recorded (inside the request's transaction when it
 * has one), a failed request releases its key. Answers what it finds as data; the HTTP edge
 * (`http/idempotency.ts`) turns that into errors and replays.
 *
 * @example
 * const ledger = new IdempotencyLedger(ports);
 * const c = await ledger.claim(key, requestHash, clock.now(), ttlMs);
 * if (c.kind === 'fresh') await ledger.transaction(async (tx) => { await work(tx); await ledger.complete(key, answer, tx); });
 */
import type { IdemClaim, IdemKey, IdempotencyLedgerPort, RecordedAnswer } from '../core/idempotency.js';
import type { TxHandle } from '../core/tx.js';
import type { IdempotencyRow } from './idempotency.js';
import { txPorts, type Ports, type StorePorts } from './ports.js';

export type { IdemClaim, RecordedAnswer };

/** What a found record means for a request of `requestHash`. */
function outcome(row: IdempotencyRow, requestHash: string): IdemClaim {
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
}

export class IdempotencyLedger implements IdempotencyLedgerPort {
  /** `nodeId`: this node, on a store several nodes share (its in-flight claims name it). */
  constructor(
    private readonly ports: StorePorts,
    private readonly nodeId?: string,
  ) {}

  /**
   * Claims `key` for a request of `requestHash`, or finds its unexpired earlier outcome. One
   * transaction: read, expire when stale, claim. A claim that loses to a concurrent one (the
   * record appeared after the read: PostgreSQL) reads that record back and answers from it.
   */
  claim(key: IdemKey, requestHash: string, nowMs: number, ttlMs: number): Promise<IdemClaim> {
    return this.ports.transaction(async (tx): Promise<IdemClaim> => {
      let row = await tx.idem.get(key);
      if (row && row.createdMs < nowMs - ttlMs) {
        await tx.idem.expire(nowMs - ttlMs);
        row = undefined;
      }
      // Several nodes: an in-flight record may be the claim of a request that died with its
      // node; the claim takes it over then (and only then: a live node's claim stays).
      const maybeDead = row?.state === 'in_flight' && this.nodeId !== undefined;
      if (row && !maybeDead) return outcome(row, requestHash);
      if (await tx.idem.claim(key, requestHash, nowMs, this.nodeId)) return { kind: 'fresh' };
      const now = await tx.idem.get(key);
      // Claimed and released again in between: held a moment ago, so the client retries.
      return now ? outcome(now, requestHash) : { kind: 'in_flight' };
    });
  }

  /** Records the answer of a fresh request: in `tx` (the request's transaction) when given, else in its own. */
  complete(key: IdemKey, a: RecordedAnswer, tx?: TxHandle): Promise<void> {
    // An answer naming a run (POST /runs, :cancel) is pruned with that run (retention).
    const runId = (a.body as { runId?: unknown } | null | undefined)?.runId;
    const write = (p: Ports): Promise<void> =>
      p.idem.complete(key, a.status, JSON.stringify(a.body ?? null), JSON.stringify(a.headers ?? {}), typeof runId === 'string' ? runId : null);
    return tx ? write(txPorts(tx)) : this.ports.transaction(write);
  }

  /** Forgets the claim of a request that failed, so the client may retry it. */
  release(key: IdemKey): Promise<void> {
    return this.ports.idem.release(key);
  }

  /** Runs `fn` in one store transaction (the request's). */
  transaction<T>(fn: (tx: TxHandle) => Promise<T>): Promise<T> {
    return this.ports.transaction(fn);
  }
}
