/**
 * Rate limits, cross-cutting: every route of the table that declares `rateLimit` is checked
 * here (headers on every response once the limiter ran, 429 RATE_LIMITED + Retry-After when
 * the bucket is empty, tenants independent), on a server started with `--rate-limit 1`
 * (burst 2). The pipeline rule itself is also checked on a synthetic GET route.
 *
 * Exact counts need a still clock (a loaded CI machine can take a second between requests,
 * and the bucket refills 1/s): those tests swap in a limiter with the server's own policy and
 * a frozen clock. The refill test runs on the server's real limiter.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { startTestServer, BASE, type TestServer } from '../helpers/server.js';
import { createApp, defineRoute, type RouteDef } from '../../src/http/index.js';
import { TokenBucketLimiter } from '../../src/ops/index.js';
import { dag } from './helpers.js';

let t: TestServer;

before(async () => {
  t = await startTestServer(['--rate-limit', '1']);
});
after(() => t.stop());

/** Runs `fn` with the server's `runs` policy on a frozen clock. */
async function frozen(fn: () => Promise<void>): Promise<void> {
  const services = t.server.deps.services;
  const ops = services.ops;
  const real = services.rateLimiter!;
  const policy = ops.limiter.policy('runs')!;
  assert.deepEqual(policy, { ratePerSec: 1, burst: 2 }, '--rate-limit 1: 1/s, burst 2');
  services.rateLimiter = new TokenBucketLimiter({ runs: policy }, { now: () => 0, onRefused: ops.metrics.onRateLimited });
  try {
    await fn();
  } finally {
    services.rateLimiter = real;
  }
}

const SAMPLE: Record<string, string> = {
  dagId: 'no-such-dag',
  version: '9.9.9',
  runId: '01900000-0000-7000-8000-000000000000',
  stepId: 'no-such-step',
  hash: '0'.repeat(64),
};
const concrete = (r: RouteDef) => r.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, n: string) => SAMPLE[n] ?? 'x');

type Res = { status: number; headers: Headers; body: any };

function assertLimitHeaders(res: Res, what: string, burst = 2) {
  assert.equal(res.headers.get('x-ratelimit-limit'), String(burst), `${what}: X-RateLimit-Limit`);
  assert.match(res.headers.get('x-ratelimit-remaining') ?? '', /^\d+$/, `${what}: X-RateLimit-Remaining`);
  assert.match(res.headers.get('x-ratelimit-reset') ?? '', /^\d+$/, `${what}: X-RateLimit-Reset`);
}

function assert429(res: Res, what: string) {
  assert.equal(res.status, 429, `${what}: status`);
  assert.equal(res.body?.error?.code, 'RATE_LIMITED', `${what}: code`);
  assert.match(res.body.error.trace_id, /^[0-9a-f]{32}$/);
  const retry = res.headers.get('retry-after') ?? '';
  assert.match(retry, /^[1-9]\d*$/, `${what}: Retry-After is an integer >= 1`);
  assert.equal(res.headers.get('x-ratelimit-remaining'), '0', `${what}: nothing remaining`);
  assertLimitHeaders(res, what);
}

test('the route table declares at least POST /runs as rate limited', () => {
  const limited = t.server.routes.filter((r) => r.rateLimit).map((r) => `${r.method} ${r.path}`);
  assert.ok(limited.includes('POST /runs'), `rate-limited routes: ${limited.join(', ')}`);
});

test('every rate-limited route: headers on every response, 429 with Retry-After when empty, tenants independent', () => frozen(async () => {
  let n = 0;
  for (const r of t.server.routes.filter((r) => r.rateLimit)) {
    const tenant = `rl-${n++}`;
    const other = `rl-${n++}`;
    const send = (ten: string, body: unknown = {}) => t.req(r.method, concrete(r), { tenant: ten, body: r.method === 'POST' ? body : undefined });
    // Burst 2: two requests pass the limiter (whatever the route answers: here mostly 4xx,
    // errors after the limiter still carry its headers), the third is refused.
    const first = await send(tenant);
    assert.notEqual(first.status, 429, `${r.path} first`);
    assertLimitHeaders(first, `${r.path} first`);
    assert.equal(first.headers.get('x-ratelimit-remaining'), '1');
    const second = await send(tenant, { not: 'valid' });
    assert.notEqual(second.status, 429, `${r.path} second`);
    assertLimitHeaders(second, `${r.path} second`);
    assert.equal(second.headers.get('x-ratelimit-remaining'), '0');
    assert429(await send(tenant), `${r.path} third`);
    // Another tenant has its own bucket.
    const fresh = await send(other);
    assert.notEqual(fresh.status, 429, `${r.path} other tenant`);
    assert.equal(fresh.headers.get('x-ratelimit-remaining'), '1');
    // Rejected before the limiter (auth, tenant, scope): no token taken, no headers.
    const noTenant = await t.req(r.method, concrete(r), { tenant: null, token: await t.token({ tenants: [tenant] }), body: {} });
    assert.equal(noTenant.status, 403);
    assert.equal(noTenant.headers.get('x-ratelimit-limit'), null);
  }
}));

test('a successful POST /runs (201) carries the headers too', () => frozen(async () => {
  assert.equal((await t.req('POST', '/dags', { tenant: 'rl-ok', body: dag('rl-ok') })).status, 201);
  const r = await t.req('POST', '/runs', { tenant: 'rl-ok', body: { dagId: 'rl-ok' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assertLimitHeaders(r, 'POST /runs 201');
  assert.equal(r.headers.get('x-ratelimit-remaining'), '1');
  const replay = await t.req('POST', '/runs', { tenant: 'rl-ok', body: { dagId: 'rl-ok' }, headers: { 'idempotency-key': 'k1' } });
  assertLimitHeaders(replay, 'POST /runs second');
}));

test('the real limiter: empties, then refills at the configured rate (allowed again after Retry-After)', async () => {
  const send = () => t.req('POST', '/runs', { tenant: 'rl-refill', body: { dagId: 'nope' } });
  let refused: Res | undefined;
  // Burst 2 at 1/s: the third request is refused unless the machine is slow enough for a token
  // to come back in between; keep sending until one is refused.
  for (let i = 0; i < 20 && !refused; i++) {
    const r = await send();
    assertLimitHeaders(r, `runs #${i}`);
    if (r.status === 429) refused = r;
  }
  assert.ok(refused, 'the bucket empties');
  assert429(refused, 'runs refused');
  const wait = Number(refused.headers.get('retry-after'));
  assert.ok(wait >= 1 && wait <= 1, `rate 1/s: one token within a second (Retry-After ${wait})`);
  await new Promise((res) => setTimeout(res, wait * 1000 + 50));
  const after = await t.req('POST', '/runs', { tenant: 'rl-refill', body: { dagId: 'nope' } });
  assert.notEqual(after.status, 429, 'allowed again after Retry-After');
});

test('the pipeline rule holds for any route that declares rateLimit (synthetic GET route, success path)', () => frozen(async () => {
  const probe = defineRoute({
    method: 'GET',
    path: '/test-only/limited',
    operationId: 'testLimited',
    summary: 'test',
    scope: 'orchestrator:read',
    tenant: true,
    rateLimit: 'runs',
    responses: { 200: z.object({}) },
    handler: () => ({ status: 200, body: { ok: true }, headers: { 'x-own': '1' } }),
  });
  const app = createApp(t.server.deps, [probe]);
  const token = await t.token({ tenants: ['rl-synth'] });
  const get = () =>
    app.fetch(new Request(`http://x${BASE}/test-only/limited`, { headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'rl-synth' } }));
  const a = await get();
  assert.equal(a.status, 200);
  assert.equal(a.headers.get('x-own'), '1');
  assert.equal(a.headers.get('x-ratelimit-limit'), '2');
  assert.equal(a.headers.get('x-ratelimit-remaining'), '1');
  assert.equal(a.headers.get('x-ratelimit-reset'), '1');
  await get();
  const c = await get();
  assert.equal(c.status, 429);
  const refusal = (await c.json()).error;
  assert.equal(refusal.code, 'RATE_LIMITED');
  assert.match(c.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  assert.deepEqual(refusal.details, { limit: 2, ratePerSecond: 1, retryAfterSeconds: Number(c.headers.get('retry-after')) }, 'details say the bucket and the wait');
  assert.equal(c.headers.get('x-ratelimit-remaining'), '0', 'the refusal carries the bucket headers too');
}));

test('refusals are counted in orchestrator_rate_limited_total', async () => {
  const res = await t.req('GET', '/admin/metrics', { token: await t.token({ tenants: ['*'] }), tenant: null });
  const m = /^orchestrator_rate_limited_total\{policy="runs"\} (\d+)$/m.exec(res.text);
  assert.ok(m && Number(m[1]) >= 1, 'refusals counted');
});
