/**
 * A multi-row INSERT run as ⌈n / chunk⌉ statements: full chunks of `chunk` rows, then one
 * statement of the rest — one prepared statement per row count (prepared when first needed),
 * each with its own parameter array, written in place for every run rather than built again.
 * A statement per row (or the rest of a chunked batch row by row) cost one native call and one
 * bind per row; a parameter array grown from empty for every chunk was ≈ 8 % of what the event
 * log allocated under sustained load.
 *
 * @example
 * const ins = new MultiRowInsert(db, 'insert into steps (run_id, step_id, topo_index) values', '(?, ?, ?)', 3);
 * ins.run(rows, (p, at, r) => { p[at] = runId; p[at + 1] = r.stepId; p[at + 2] = r.topoIndex; });
 */
import type Database from 'better-sqlite3';

export class MultiRowInsert {
  private readonly byCount: Array<{ stmt: Database.Statement; params: unknown[] } | undefined> = [];

  /**
   * @param head `insert into t (cols…) values`
   * @param row one row's placeholders, `(?, ?, …)` (constants allowed)
   * @param columns placeholders per row
   * @param tail after the rows (`on conflict … do update …`), if any
   */
  constructor(
    private readonly db: Database.Database,
    private readonly head: string,
    private readonly row: string,
    private readonly columns: number,
    private readonly tail = '',
    private readonly chunk = 32,
  ) {}

  /** Inserts `rows`; `put` writes row `r`'s parameters at `p[at]`…`p[at + columns - 1]`. */
  run<T>(rows: readonly T[], put: (p: unknown[], at: number, r: T) => void): void {
    for (let i = 0; i < rows.length; i += this.chunk) {
      const n = Math.min(this.chunk, rows.length - i);
      const s = this.statement(n);
      const p = s.params;
      for (let k = 0; k < n; k++) put(p, k * this.columns, rows[i + k]!);
      s.stmt.run(p);
    }
  }

  private statement(n: number): { stmt: Database.Statement; params: unknown[] } {
    let s = this.byCount[n];
    if (!s) {
      const sql = `${this.head} ${Array<string>(n).fill(this.row).join(', ')} ${this.tail}`;
      s = { stmt: this.db.prepare(sql), params: new Array<unknown>(n * this.columns).fill(null) };
      this.byCount[n] = s;
    }
    return s;
  }
}
