/**
 * The world of the input-fuzzing files (input-*.test.ts, split so that they run in parallel and
 * each snapshot exports only its own file's data): a server with short header and request
 * timeouts, tenant `fz` with a seed DAG, a finished run and its artifact that generated requests
 * point at, and the checks every fuzzed request must pass: a 4xx envelope or a success, never a
 * 5xx, and a refused request leaves the database exactly as it was (row counts of every table
 * and the tenant's exports, byte for byte).
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteDef } from '../../src/http/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { publish, waitForRun } from '../runs/helpers.js';
import fc from 'fast-check';
import { applyMutation, contentType, frameBody, framing, fromSchema, jsonSchemaOf, mutation, pathValue, toJsonText, type J } from './fuzz.js';
import { BASE, assertAlive, assertEnvelope, exportsOf, jsonOf, paramNames, rowCounts, sleep, takesBody, type Res } from './support.js';

export const TENANT = 'fz';
/** Scales every numRuns (HOSTILE_RUNS=3 for a long soak). */
const SCALE = Number(process.env.HOSTILE_RUNS ?? 1);
export const runs = (n: number) => Math.max(1, Math.round(n * SCALE));

export let t: TestServer;
export let token = '';
export let ids: Record<string, string> = {};
export let routes: RouteDef[];
const counts = { requests: 0, refused: 0, accepted: 0 };

/**
 * Registers the file's server (started before its tests, stopped after them, printing what was
 * fuzzed as `input (<what>): …`) and the seed data the fuzzed requests point at.
 * @example useInputWorld('bodies of /runs and /dags');
 */
export function useInputWorld(what: string): void {
  before(async () => {
    t = await startTestServer(['--allow-unsigned', '--rate-limit', '100000', '--workers', '1', '--headers-timeout', '1', '--request-timeout', '2']);
    token = await t.token({ tenants: [TENANT], scopes: ['orchestrator:admin'] });
    routes = t.server.routes;
    await publish(t, {
      dagId: 'seed',
      inputsSchema: { type: 'object', properties: { n: { type: 'number' }, s: { type: 'string', maxLength: 64 } } },
      steps: [{ id: 'say', plugin: 'echo', with: { n: '${{ inputs.n }}' } }, { id: 'art', plugin: 'artifact', with: { content: 'seed artifact' } }],
      edges: [{ from: 'say', to: 'art' }],
    }, TENANT);
    // Disabling is fuzzed on a DAG of its own, so that 'seed' stays runnable for the other cases.
    await publish(t, { dagId: 'victim', steps: [{ id: 'a', plugin: 'noop' }] }, TENANT);
    const r = await t.req('POST', '/runs', { tenant: TENANT, body: { dagId: 'seed', inputs: { n: 1 } } });
    assert.equal(r.status, 201, r.text);
    const done = await waitForRun(t, r.body.runId, { tenant: TENANT });
    ids = { dagId: 'seed', version: '1.0.0', runId: r.body.runId, stepId: 'art', hash: done.steps[1].outputs.hash };
  });
  after(async () => {
    console.log(`input (${what}): ${counts.requests} fuzzed requests, ${counts.refused} refused with a 4xx envelope, ${counts.accepted} accepted`);
    await t.stop();
  });
}

export interface Sent {
  method: string;
  path: string;
  query?: string;
  body?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

export async function send(s: Sent): Promise<Res> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'x-stella-tenant': TENANT, ...s.headers };
  if (s.contentType !== undefined) headers['content-type'] = s.contentType;
  const stream = s.path === '/runs/stream';
  if (stream) headers.accept = 'application/x-ndjson';
  const ac = new AbortController();
  const res = await fetch(`${t.url}${BASE}${s.path}${s.query ? `?${s.query}` : ''}`, {
    method: s.method,
    headers,
    body: takesBody(s.method) ? ((s.body ?? Buffer.alloc(0)) as unknown as BodyInit) : undefined,
    signal: ac.signal,
  });
  let text = '';
  if (stream && res.status === 200) ac.abort(); // an open event stream: its head is the answer
  else text = await res.text();
  counts.requests++;
  return { status: res.status, headers: res.headers, body: jsonOf(text), text };
}

/** The observable state: row counts of every table plus the tenant's exports. */
export async function snapshot(): Promise<string> {
  return JSON.stringify(rowCounts(t.dataDir)) + '\n' + (await exportsOf(t, TENANT, token));
}

/** Waits until runs started by accepted requests have finished (the state stops moving). */
export async function settled(): Promise<string> {
  let prev = await snapshot();
  for (let i = 0; i < 200; i++) {
    await sleep(25);
    const next = await snapshot();
    if (next === prev) return next;
    prev = next;
  }
  return prev;
}

/** The state every refused mutating request must leave unchanged (the last settled snapshot). */
export let state = '';

/** Waits until the state stops moving and takes it as the new reference. */
export async function resettle(): Promise<void> {
  state = await settled();
}

/** The checks every fuzzed request must pass. */
export async function judge(res: Res, what: string, mutating: boolean): Promise<void> {
  assert.ok(res.status < 500, `${what}: ${res.status} ${res.text.slice(0, 300)}`);
  if (res.status >= 400) {
    counts.refused++;
    assertEnvelope(res, null, null, what);
    if (mutating) {
      const now = await snapshot();
      assert.equal(now, state, `${what}: a refused request changed the database`);
    }
  } else {
    counts.accepted++;
    if (mutating) state = await settled();
  }
}

export function describeReq(s: Sent): string {
  const body = s.body ? s.body.subarray(0, 160).toString('utf8') : '';
  return `${s.method} ${s.path}${s.query ? `?${s.query.slice(0, 120)}` : ''} [${s.contentType}] ${JSON.stringify(body)}`;
}

/** Path values that reach the handler (the seed's), or hostile ones. */
export function pathFor(r: RouteDef, hostile: Record<string, { value: string; raw: boolean } | null>): string {
  return r.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, n: string) => {
    const h = hostile[n];
    if (!h) return encodeURIComponent((n === 'dagId' && r.path.endsWith(':disable') ? 'victim' : ids[n]) ?? 'x');
    return h.raw ? h.value : encodeURIComponent(wellFormed(h.value));
  });
}

/** A URL cannot carry a lone surrogate (its UTF-8 form, %ED%A0%80, is among the raw values). */
function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** Body overrides that point generated bodies at real data, so they reach deeper checks. */
export function steer(r: RouteDef, v: J, pick: number): J {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  if (r.path === '/runs' && pick % 2 === 0) return { ...v, dagId: 'seed' };
  if (r.path === '/dags' && pick % 3 === 0) return { ...v, dagId: `fz-${pick % 5}`, version: '1.0.0' };
  return v;
}


/** The routes whose bodies are fuzzed longest (150 cases each, 60 for the others): they create runs and DAG versions. */
export const busiest = (r: RouteDef): boolean => r.path === '/dags' || r.path === '/runs';

/**
 * Fuzzes the JSON body of each of `bodyRoutes` (zod-derived, then mutated, framed and typed in
 * hostile ways, hostile path parameters now and then): every answer passes {@link judge}.
 * @example await fuzzBodies(routes.filter((r) => r.body && busiest(r)));
 */
export async function fuzzBodies(bodyRoutes: RouteDef[]): Promise<void> {
  for (const r of bodyRoutes) {
    const hostileParam = fc.option(pathValue, { freq: 6 });
    const params = paramNames(r);
    await fc.assert(
      fc.asyncProperty(
        fromSchema(jsonSchemaOf(r.body!)),
        mutation,
        framing,
        contentType,
        fc.option(fc.string({ minLength: 1, maxLength: 40 }), { freq: 4 }),
        fc.array(hostileParam, { minLength: params.length, maxLength: params.length }),
        fc.nat(),
        async (base, m, f, ct, idemKey, hostile, pick) => {
          const value = applyMutation(steer(r, base, pick), m);
          const s: Sent = {
            method: r.method,
            path: pathFor(r, Object.fromEntries(params.map((p, i) => [p, hostile[i] ?? null]))),
            body: frameBody(toJsonText(value), f),
            contentType: ct,
            headers: idemKey ? { 'idempotency-key': idemKey } : {},
          };
          await judge(await send(s), describeReq(s), true);
        },
      ),
      { numRuns: runs(busiest(r) ? 150 : 60), endOnFailure: true, includeErrorInReport: true },
    );
  }
  await assertAlive(t, 'after body fuzzing');
}
