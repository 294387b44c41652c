/**
 * Precomputed answers for ended runs. A run that has ended no longer changes (the scheduler
 * moves no status, step or attempt of it again); retention may delete it. So the JSON of its
 * view, once made, stays right for as long as the run exists: the read routes keep it here
 * instead of rebuilding it from its rows on every request (issue #20, the HTTP read path).
 *
 * Opaque to the store: the values are whatever the caller put (runs/ended-json.ts: the full view
 * and the list item of a run, as UTF-8 JSON bytes, written to a socket as they are). Bounded (least recently used go first), one per
 * store, emptied of the runs retention deletes (`forget`, called by the store's delete). A
 * reader always checks that the run still exists in the database (its row, or its key in a list
 * page) before using a value, so an entry of a run deleted by another node is never served.
 *
 * @example
 * const json = views.get('demo', runId, 'full') ?? build();
 * if (ended) views.put('demo', runId, 'full', json);
 */
export type EndedViewKind = 'full' | 'item';

interface Entry<V> {
  tenant: string;
  full?: V;
  item?: V;
}

export class EndedViews<V = Uint8Array> {
  private readonly entries = new Map<string, Entry<V>>();

  /** @param max runs kept (≈ 3 KB each with both views of a 3-step run). */
  constructor(private readonly max = 4096) {}

  get(tenant: string, runId: string, kind: EndedViewKind): V | undefined {
    const e = this.entries.get(runId);
    if (e === undefined || e.tenant !== tenant) return undefined;
    return e[kind];
  }

  /** Records a view of an ended run (the caller has checked that it ended). */
  put(tenant: string, runId: string, kind: EndedViewKind, json: V): void {
    let e = this.entries.get(runId);
    if (e !== undefined && e.tenant !== tenant) return;
    if (e === undefined) {
      e = { tenant };
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    } else this.entries.delete(runId); // re-inserted below: most recently used last
    e[kind] = json;
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
