/**
 * HTTP answers of domain results, written once for every route. A service says what happened
 * (`{ run, created }`, `{ run, cancelled }`, a schedule); the route chooses the status and the
 * headers here, so no service knows a status code or a `Location`.
 *
 * @example
 * handler: (ctx) => answered(ctx, (r) => createdAnswer(r.run, r.created, runPath(r.run.runId)),
 *   (tx) => ctx.deps.services.runs.create(ctx.tenant, ctx.body, ctx.traceId, tx)),
 */
import type { Transact } from '../core/index.js';
import type { HttpResult, RouteCtx } from './route.js';

/** 200 with the body. */
export function okAnswer(body: unknown): HttpResult {
  return { status: 200, body };
}

/** 201 with `Location` when this call created the resource; 200 with it when it already existed (the same request again). */
export function createdAnswer(body: unknown, created: boolean, location: string): HttpResult {
  return created ? { status: 201, body, headers: { Location: location } } : { status: 200, body };
}

/**
 * Calls a service with the request's transaction (`tx`: {@link Transact}) and answers its domain
 * result with `answer`. When the service commits through `tx`, the answer is built inside that
 * transaction too, so a request with an Idempotency-Key records it in the same commit as the
 * change; a result returned without a commit (the run of a known runToken) is answered the same way.
 *
 * @example
 * return answered(ctx, okAnswer, (tx) => schedules.setPaused(tenant, id, true, tx));
 */
export async function answered<T>(
  ctx: Pick<RouteCtx<unknown, unknown, unknown>, 'commit'>,
  answer: (r: T) => HttpResult,
  call: (tx: Transact<T>) => Promise<T>,
): Promise<HttpResult> {
  let committed: HttpResult | undefined;
  const result = await call(async (fn) => {
    let out!: T;
    committed = await ctx.commit(async (tx) => answer((out = await fn(tx))));
    return out;
  });
  return committed ?? answer(result);
}
