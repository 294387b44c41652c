import type Database from 'better-sqlite3';

/** Prepared statements for dynamic SQL (filters), prepared once per distinct text. */
export class StatementCache {
  private readonly cache = new Map<string, Database.Statement>();
  constructor(private readonly db: Database.Database) {}

  get(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }
}

/**
 * The LIMIT clause of a statement prepared once and run with many limits: `limit <param> + 0`.
 * SQLite (3.53 here) reads a bare bound LIMIT's value while it plans, and then marks the
 * statement expired on every later bind of that parameter: each run re-parses and re-plans it
 * (sqlite3Reprepare, ≈ 10 % of reading a page of 51 run keys; ≈ 4.5 % of the main thread's
 * samples under `GET /runs?page_size=50`). As an expression the value is bound, not planned on.
 *
 * @example
 * db.prepare(`select … order by started_ms desc ${boundLimit('@limit')}`);
 */
export function boundLimit(param: string): string {
  return `limit ${param} + 0`;
}

/** Named parameters without the undefined ones (better-sqlite3 cannot bind undefined). */
export function defined(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out[k] = v;
  return out;
}
