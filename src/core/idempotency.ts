/**
 * The Idempotency-Key ledger as the request pipeline sees it (CONTRACT §3): the port the HTTP
 * edge's middleware (`http/idempotency.ts`) calls and the store implements
 * (`store/ledger.ts`), so the edge never imports the store.
 *
 * @example
 * const c = await ledger.claim(key, requestHash, clock.now(), ttlMs);
 * if (c.kind === 'fresh') await ledger.transaction(async (tx) => { await work(tx); await ledger.complete(key, answer, tx); });
 */
import type { TxHandle } from './tx.js';

/**
 * How long a completed Idempotency-Key answers replays: 24 h, the contract's promise to
 * clients (a fixed limit of the protocol, not a setting).
 */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

/** One key: per tenant, method and path. */
export interface IdemKey {
  tenant: string;
  method: string;
  path: string;
  key: string;
}

/** What a claim found: the key is now ours, or used with another request, still running, or done. */
export type IdemClaim =
  | { kind: 'fresh' }
  | { kind: 'reused' }
  | { kind: 'in_flight' }
  | { kind: 'done'; answer: RecordedAnswer };

/** An answer as recorded (status, JSON body, headers). */
export interface RecordedAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface IdempotencyLedgerPort {
  /**
   * Claims `key` for a request of `requestHash`, or finds its unexpired earlier outcome: one
   * transaction (read, expire when stale, claim), and of two concurrent claims one is `fresh`.
   */
  claim(key: IdemKey, requestHash: string, nowMs: number, ttlMs: number): Promise<IdemClaim>;
  /** Records the answer of a fresh request: in `tx` (the request's transaction) when given, else in its own. */
  complete(key: IdemKey, a: RecordedAnswer, tx?: TxHandle): Promise<void>;
  /** Forgets the claim of a request that failed, so the client may retry it. */
  release(key: IdemKey): Promise<void>;
  /** Runs `fn` in one store transaction (the request's: `ctx.commit`). */
  transaction<T>(fn: (tx: TxHandle) => Promise<T>): Promise<T>;
}
