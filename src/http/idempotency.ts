/**
 * Idempotency-Key handling for every mutating request (POST, PUT, DELETE: `isMutating`) (CONTRACT §3), written once.
 *
 * The first request inserts an `in_flight` record; its effect and the recorded response commit
 * in one transaction (through `ctx.commit`); a replay returns the recorded status and body with
 * `Idempotency-Replayed: true`. Only successful (2xx) responses are recorded: a request that
 * failed releases its key so the client may retry it.
 */
import { ApiError, canonicalHash } from '../core/index.js';
import type { IdemKey, Store } from '../store/index.js';
import type { HttpResult } from './route.js';

/** 1-255 printable ASCII characters (CONTRACT §3). */
export const KEY_RE = /^[\x20-\x7e]{1,255}$/;

export type IdemOutcome =
  | { kind: 'none' }
  | { kind: 'replay'; result: HttpResult }
  | { kind: 'fresh'; key: IdemKey };

export function checkKeyFormat(raw: string | undefined, required: boolean): string | undefined {
  if (raw === undefined) {
    if (required) throw new ApiError('IDEMPOTENCY_KEY_REQUIRED', 'Idempotency-Key header is required');
    return undefined;
  }
  if (!KEY_RE.test(raw)) {
    throw new ApiError('VALIDATION_FAILED', 'Idempotency-Key must be 1-255 printable ASCII characters', {
      field: 'header.Idempotency-Key',
    });
  }
  return raw;
}

/** Claims the key or finds its earlier outcome. */
export function begin(
  store: Store,
  key: IdemKey,
  request: unknown,
  nowMs: number,
  ttlMs: number,
): IdemOutcome & { requestHash?: string } {
  const requestHash = canonicalHash(request);
  return store.tx(() => {
    let row = store.idem.get(key);
    if (row && row.createdMs < nowMs - ttlMs) {
      store.idem.expire(nowMs - ttlMs);
      row = undefined;
    }
    if (!row) {
      store.idem.insertInFlight(key, requestHash, nowMs);
      return { kind: 'fresh' as const, key };
    }
    if (row.requestHash !== requestHash) {
      throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key was used with a different request');
    }
    if (row.state === 'in_flight') {
      throw new ApiError('IDEMPOTENCY_IN_FLIGHT', 'a request with this Idempotency-Key is still in progress', undefined, {
        'Retry-After': '1',
      });
    }
    return {
      kind: 'replay' as const,
      result: {
        status: row.responseStatus ?? 200,
        body: row.responseBody === null ? undefined : JSON.parse(row.responseBody),
        headers: { ...(row.responseHeaders ? JSON.parse(row.responseHeaders) : {}), 'Idempotency-Replayed': 'true' },
      },
    };
  });
}

/** Records the response of a fresh request (inside the caller's transaction when there is one). */
export function record(store: Store, key: IdemKey, r: HttpResult): void {
  // A response naming a run (POST /runs, :cancel) is pruned with that run (retention).
  const runId = (r.body as { runId?: unknown } | null | undefined)?.runId;
  store.idem.complete(key, r.status, JSON.stringify(r.body ?? null), JSON.stringify(r.headers ?? {}), typeof runId === 'string' ? runId : null);
}

export function release(store: Store, key: IdemKey): void {
  store.idem.release(key);
}
