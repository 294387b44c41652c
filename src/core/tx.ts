/**
 * The request side's transaction, as code outside the store sees it (docs/SCALE-OUT.md, "Sync
 * or async"): an opaque handle. The store's `Ports` (`store/ports.ts`) is one; a service narrows
 * it with `txPorts` (store) to read and write through the ports. `http/` passes it along and
 * never imports the store.
 *
 * @example
 * const started = await tx(async (h) => {
 *   const ports = txPorts(h);             // in a service
 *   await ports.runs.createRun(row, steps);
 *   return { run, created: true };
 * });
 */

declare const txBrand: unique symbol;

/** One open store transaction (the store's `Ports` bound to it); opaque outside `store/`. */
export interface TxHandle {
  readonly [txBrand]?: true;
}

/**
 * Runs `fn` in one store transaction and resolves with its result: it commits when `fn`
 * resolves, rolls back when it throws. A request's (`ctx.commit` through `answered`) also
 * records the request's Idempotency-Key answer in that commit. On SQLite `fn` may await only the
 * handle's ports (the transaction must not span an event-loop turn).
 */
export type Transact<T> = (fn: (tx: TxHandle) => Promise<T>) => Promise<T>;
