import type Database from 'better-sqlite3';
import type { Row } from './rows.js';
import type { idempotencyKeys } from './schema.js';

/** A recorded request (schema `idempotency_keys`): its state is `in_flight` until the response is recorded. */
export type IdempotencyRow = Pick<Row<typeof idempotencyKeys>, 'requestHash' | 'responseStatus' | 'responseBody' | 'responseHeaders' | 'createdMs'> & {
  state: 'in_flight' | 'done';
};

export type { IdemKey } from '../core/idempotency.js';
import type { IdemKey } from '../core/idempotency.js';

/** Idempotency-Key records (CONTRACT §3). One prepared statement per query. */
export class IdempotencyQueries {
  private readonly getStmt;
  private readonly insertStmt;
  private readonly completeStmt;
  private readonly deleteStmt;
  private readonly expireStmt;
  private readonly clearInFlightStmt;

  constructor(db: Database.Database) {
    this.getStmt = db.prepare(
      `select request_hash as requestHash, state, response_status as responseStatus,
              response_body as responseBody, response_headers as responseHeaders, created_ms as createdMs
         from idempotency_keys where tenant=? and method=? and path=? and key=?`,
    );
    this.insertStmt = db.prepare(
      `insert into idempotency_keys (tenant, method, path, key, request_hash, state, created_ms)
       values (?, ?, ?, ?, ?, 'in_flight', ?)`,
    );
    this.completeStmt = db.prepare(
      `update idempotency_keys set state='done', response_status=?, response_body=?, response_headers=?, run_id=?
        where tenant=? and method=? and path=? and key=?`,
    );
    this.deleteStmt = db.prepare(
      `delete from idempotency_keys where tenant=? and method=? and path=? and key=? and state='in_flight'`,
    );
    this.expireStmt = db.prepare(`delete from idempotency_keys where created_ms < ?`);
    this.clearInFlightStmt = db.prepare(`delete from idempotency_keys where state='in_flight'`);
  }

  get(k: IdemKey): IdempotencyRow | undefined {
    return this.getStmt.get(k.tenant, k.method, k.path, k.key) as IdempotencyRow | undefined;
  }

  insertInFlight(k: IdemKey, requestHash: string, nowMs: number): void {
    this.insertStmt.run(k.tenant, k.method, k.path, k.key, requestHash, nowMs);
  }

  /** Records the response; `runId`: the run it names, so the record is pruned with that run. */
  complete(k: IdemKey, status: number, body: string, headers: string, runId: string | null = null): void {
    this.completeStmt.run(status, body, headers, runId, k.tenant, k.method, k.path, k.key);
  }

  /** Forget an in-flight record whose request failed, so the client may retry. */
  release(k: IdemKey): void {
    this.deleteStmt.run(k.tenant, k.method, k.path, k.key);
  }

  /** Deletes records older than `beforeMs`; returns how many. */
  expire(beforeMs: number): number {
    return this.expireStmt.run(beforeMs).changes;
  }

  /**
   * At start-up no request is in flight: an `in_flight` row is one whose effect never
   * committed (effect and completion share a transaction), so it is dropped.
   */
  clearInFlight(): number {
    return this.clearInFlightStmt.run().changes;
  }
}
