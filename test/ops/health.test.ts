/** GET /admin/health: probe view, admin view, tenant-scoped queues, readiness. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { workerPoolCheck } from '../../src/ops/health.js';
import type { PoolLike } from '../../src/ops/types.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { dag } from './helpers.js';

let t: TestServer;

before(async () => {
  t = await startTestServer();
  for (const tenant of ['a', 'b']) {
    const r = await t.req('POST', '/dags', { tenant, body: dag(`hello-${tenant}`) });
    assert.equal(r.status, 201);
  }
});
after(() => t.stop());

test('without a token: exactly {status, ready}, 200 when ready, no tenant header needed', async () => {
  const res = await t.req('GET', '/admin/health', { token: null, tenant: null });
  assert.equal(res.status, 200);
  assert.deepEqual(Object.keys(res.body).sort(), ['ready', 'status']);
  assert.ok(['ok', 'degraded'].includes(res.body.status));
  assert.equal(res.body.ready, true);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(res.headers.get('cache-control'), 'private, no-store'); // never stored, by any cache
});

test('with an admin token: version, uptime, checks and the queues of the token\'s tenants only', async () => {
  const res = await t.req('GET', '/admin/health', { token: await t.token({ tenants: ['a'] }), tenant: null });
  assert.equal(res.status, 200);
  const b = res.body;
  assert.equal(typeof b.version, 'string');
  assert.ok(Number.isInteger(b.uptimeSeconds) && b.uptimeSeconds >= 0);
  assert.equal(b.lifecycle, 'serving');
  for (const name of ['database', 'artifactStore', 'workerPool']) {
    assert.ok(b.checks[name], `check ${name}`);
    assert.ok(['ok', 'degraded', 'down'].includes(b.checks[name].status), name);
  }
  assert.equal(b.checks.database.status === 'down', false);
  assert.equal(typeof b.checks.database.latencyMs, 'number');
  assert.match(b.checks.artifactStore.detail, /writable/);
  assert.deepEqual(b.queues, [{ tenant: 'a', queued: 0, running: 0 }]);
  assert.doesNotMatch(res.text, /"b"|hello-b/, 'nothing of tenant b');
});

test('a "*" token sees the queues of every known tenant; a two-tenant token sees exactly its two', async () => {
  const all = await t.req('GET', '/admin/health', { token: await t.token({ tenants: ['*'] }), tenant: null });
  assert.deepEqual(all.body.queues.map((q: any) => q.tenant), ['a', 'b']);
  const two = await t.req('GET', '/admin/health', { token: await t.token({ tenants: ['b', 'zz'] }), tenant: null });
  assert.deepEqual(two.body.queues.map((q: any) => q.tenant), ['b', 'zz']);
});

test('an invalid token is 401; a valid token without admin is 403', async () => {
  const bad = await t.req('GET', '/admin/health', { token: 'not-a-jwt', tenant: null });
  assert.equal(bad.status, 401);
  assert.equal(bad.body.error.code, 'UNAUTHENTICATED');
  const read = await t.req('GET', '/admin/health', { token: await t.token({ scopes: ['orchestrator:read'] }), tenant: null });
  assert.equal(read.status, 403);
  assert.equal(read.body.error.code, 'INSUFFICIENT_SCOPE');
});

test('starting or draining: ready=false and 503, in both views', async () => {
  const lifecycle = t.server.deps.lifecycle;
  const admin = await t.token({ tenants: ['a'] });
  try {
    lifecycle.ready = false;
    const probe = await t.req('GET', '/admin/health', { token: null, tenant: null });
    assert.equal(probe.status, 503);
    assert.deepEqual(Object.keys(probe.body).sort(), ['ready', 'status']);
    assert.equal(probe.body.ready, false);
    const detail = await t.req('GET', '/admin/health', { token: admin, tenant: null });
    assert.equal(detail.status, 503);
    assert.equal(detail.body.lifecycle, 'starting');
    lifecycle.ready = true;
    lifecycle.draining = true;
    const draining = await t.req('GET', '/admin/health', { token: admin, tenant: null });
    assert.equal(draining.status, 503);
    assert.equal(draining.body.ready, false);
    assert.equal(draining.body.lifecycle, 'draining');
  } finally {
    lifecycle.ready = true;
    lifecycle.draining = false;
  }
  assert.equal((await t.req('GET', '/admin/health', { token: null, tenant: null })).status, 200);
});

test('a failing critical check makes the server down (503); a failing other check only degrades it', async () => {
  const ops = t.server.deps.services.ops;
  ops.addCheck({ name: 'extra', run: () => ({ status: 'down', detail: 'broken on purpose' }) });
  const degraded = await t.req('GET', '/admin/health', { token: null, tenant: null });
  assert.equal(degraded.status, 200);
  assert.deepEqual(degraded.body, { status: 'degraded', ready: true });
  ops.addCheck({ name: 'extra', critical: true, run: () => { throw Object.assign(new Error('/secret/path'), { code: 'EIO' }); } });
  const down = await t.req('GET', '/admin/health', { token: await t.token(), tenant: null });
  assert.equal(down.status, 503);
  assert.equal(down.body.status, 'down');
  assert.equal(down.body.ready, false);
  assert.deepEqual(down.body.checks.extra.status, 'down');
  assert.doesNotMatch(down.text, /secret/, 'no error message or path leaks');
  ops.addCheck({ name: 'extra', run: () => ({ status: 'ok' }) });
  assert.equal((await t.req('GET', '/admin/health', { token: null, tenant: null })).status, 200);
});

test('workerPool counts --workers per live plugin host: one host down to no ready thread is degraded', async () => {
  const check = (stats: ReturnType<PoolLike['stats']>) => workerPoolCheck(() => ({ start: async () => {}, stats: () => stats }), 2).run();
  // A tenant's host and the spare, two threads each, all ready.
  assert.deepEqual(await check({ hosts: 2, workers: 4, ready: 4, busy: 1 }), { status: 'ok', detail: '4/4 workers ready, 1 busy' });
  // The tenant's two threads are not ready (being replaced): half the capacity is gone.
  assert.deepEqual(await check({ hosts: 2, workers: 4, ready: 2, busy: 0 }), { status: 'degraded', detail: '2/4 workers ready, 0 busy' });
  // A pool without hosts (a PoolLike that does not count them) is one host.
  assert.deepEqual(await check({ workers: 2, ready: 2 }), { status: 'ok', detail: '2/2 workers ready' });
});
