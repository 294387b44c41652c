/**
 * Precomputed answers for ended runs. A run that has ended no longer changes (the scheduler
 * moves no status, step or attempt of it again); retention may delete it. So the JSON of its
 * view, once made, stays right for as long as the run exists: the read routes keep it here
 * instead of rebuilding it from its rows on every request (issue #20, the HTTP read path).
 *
 * Opaque to the store: the values are whatever the caller put (runs/ended-json.ts: the full view
 * and the list item of a run, as UTF-8 JSON bytes, written to a socket as they are). Bounded (least recently used go first), one per
 * store, emptied of the runs retention deletes (`forget`, called by the store's delete).
 *
 * Whether a kept view proves that its run still exists depends on the store. A store whose
 * every delete goes through this process ({@link sole}: the SQLite store of the server, which
 * holds the data folder's lock) forgets a run in the same synchronous step as it deletes it, so
 * an entry here is of a run that exists: `GET /runs/{id}` of an ended run reads nothing else
 * ({@link head}). A store other nodes write too (PostgreSQL) is not sole: its reader checks that
 * the run still exists in the database (its row, or its key in a list page) before using a value,
 * so an entry of a run another node deleted is never served.
 *
 * @example
 * const json = views.get('demo', runId, 'full') ?? build();
 * if (ended) views.put('demo', runId, 'full', json);
 */
import type { RunHead } from './ports.js';

export type EndedViewKind = 'full' | 'item';

interface Entry<V> {
  tenant: string;
  full?: V;
  item?: V;
  head?: RunHead;
}

export class EndedViews<V = Uint8Array> {
  private readonly entries = new Map<string, Entry<V>>();

  /**
   * @param max runs kept (≈ 3 KB each with both views of a 3-step run).
   * @param sole every delete of a run goes through this process's store (see the module doc).
   */
  constructor(
    private readonly max = 4096,
    readonly sole = false,
  ) {}

  get(tenant: string, runId: string, kind: EndedViewKind): V | undefined {
    const e = this.entries.get(runId);
    if (e === undefined || e.tenant !== tenant) return undefined;
    return e[kind];
  }

  /** The ids of a run whose view is kept, when the views are {@link sole} (else undefined: read the run's row). */
  head(tenant: string, runId: string): RunHead | undefined {
    if (!this.sole) return undefined;
    const e = this.entries.get(runId);
    return e === undefined || e.tenant !== tenant ? undefined : e.head;
  }

  /** Records a view of an ended run (the caller has checked that it ended), with the run's ids. */
  put(tenant: string, runId: string, kind: EndedViewKind, json: V, head?: RunHead): void {
    let e = this.entries.get(runId);
    if (e !== undefined && e.tenant !== tenant) return;
    if (e === undefined) {
      e = { tenant };
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    } else this.entries.delete(runId); // re-inserted below: most recently used last
    e[kind] = json;
    if (head !== undefined) e.head = head;
    this.entries.set(runId, e);
  }

  /** Drops the views of deleted runs. */
  forget(runIds: readonly string[]): void {
    for (const id of runIds) this.entries.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }
}
