/**
 * The store: the only code that knows SQL. One writer connection on the main thread.
 *
 * @example
 * const store = Store.open({ dataDir: './data' });
 * store.tx(() => store.dags.insert(row));
 */
import { openDb, type Db, type OpenOptions } from './db.js';
import { DagQueries } from './dags.js';
import { IdempotencyQueries } from './idempotency.js';

export { DataDirLockedError } from './db.js';
export type { DagVersionRow, DagListFilter } from './dags.js';
export type { IdempotencyRow, IdemKey } from './idempotency.js';

export class Store {
  readonly dags: DagQueries;
  readonly idem: IdempotencyQueries;

  private constructor(readonly db: Db) {
    this.dags = new DagQueries(db.sqlite);
    this.idem = new IdempotencyQueries(db.sqlite);
  }

  static open(opts: OpenOptions): Store {
    return new Store(openDb(opts));
  }

  /** Runs `fn` in one transaction (nested calls join the outer one as savepoints). */
  tx<T>(fn: () => T): T {
    return this.db.sqlite.transaction(fn).immediate();
  }

  integrityCheck(): string {
    return this.db.sqlite.pragma('integrity_check', { simple: true }) as string;
  }

  close(): void {
    this.db.close();
  }
}
