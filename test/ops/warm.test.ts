/** POST /admin/warm: plans, plugins, workers. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { dag } from './helpers.js';

let t: TestServer;

before(async () => {
  t = await startTestServer(['--workers', '2']);
  for (const [tenant, id, v] of [['a', 'w1', '1.0.0'], ['a', 'w1', '1.1.0'], ['b', 'w2', '1.0.0'], ['b', 'w3', '1.0.0']] as const) {
    assert.equal((await t.req('POST', '/dags', { tenant, body: dag(id, v) })).status, 201);
  }
  assert.equal((await t.req('POST', '/dags/w3/1.0.0:disable', { tenant: 'b', body: {} })).status, 200);
});
after(() => t.stop());

test('warm compiles the plans of every active version, counts plugins, starts the workers', async () => {
  const res = await t.req('POST', '/admin/warm', { tenant: null });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(Object.keys(res.body).sort(), ['durationMs', 'warmed']);
  assert.deepEqual(Object.keys(res.body.warmed).sort(), ['plans', 'plugins', 'workers']);
  // w1@1.0.0, w1@1.1.0 and w2@1.0.0 (w3 is disabled); the two w1 versions differ in content.
  assert.equal(res.body.warmed.plans, 3);
  assert.ok(res.body.warmed.plugins >= 6, 'the six built-ins at least');
  assert.equal(res.body.warmed.workers, 2);
  assert.ok(Number.isInteger(res.body.durationMs) && res.body.durationMs >= 0);

  const health = await t.req('GET', '/admin/health', { tenant: null });
  assert.equal(health.body.checks.workerPool.status, 'ok');
  assert.match(health.body.checks.workerPool.detail, /^2\/2 workers ready/);
});

test('warm needs admin, no tenant header, and honours Idempotency-Key', async () => {
  const write = await t.req('POST', '/admin/warm', { tenant: null, token: await t.token({ scopes: ['orchestrator:write'] }) });
  assert.equal(write.status, 403);
  const h = { 'idempotency-key': 'warm-1' };
  const first = await t.req('POST', '/admin/warm', { tenant: null, headers: h, body: {} });
  assert.equal(first.status, 200);
  const again = await t.req('POST', '/admin/warm', { tenant: null, headers: h, body: {} });
  assert.equal(again.status, 200);
  assert.equal(again.headers.get('idempotency-replayed'), 'true');
  assert.deepEqual(again.body, first.body);
  const unknown = await t.req('POST', '/admin/warm', { tenant: null, body: { everything: true } });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.error.code, 'VALIDATION_FAILED');
});

test('warm reloads the plugin folders; a broken plugin keeps the loaded ones and is reported without paths', async (ctx) => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'orch-warm-plugins-'));
  const plugin = (name: string, manifest: Record<string, unknown> = {}) => {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'plugin.json'), JSON.stringify({ name, version: '1.0.0', entry: 'index.mjs', ...manifest }));
    writeFileSync(join(dir, name, 'index.mjs'), 'export default async () => ({});\n');
  };
  plugin('one');
  const s = await startTestServer(['--plugins-dir', dir, '--workers', '1']);
  ctx.after(async () => {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const warmed = async () => (await s.req('POST', '/admin/warm', { tenant: null })).body;
  const base = (await warmed()).warmed.plugins;
  plugin('two');
  const more = await warmed();
  assert.equal(more.warmed.plugins, base + 1, 'the new plugin folder is picked up');
  assert.equal(more.errors, undefined);
  plugin('broken', { version: 'not-semver' });
  const bad = await s.req('POST', '/admin/warm', { tenant: null });
  assert.equal(bad.status, 200);
  assert.equal(bad.body.warmed.plugins, base + 1, 'kept');
  assert.deepEqual(bad.body.errors.map((e: any) => e.part), ['plugins']);
  assert.doesNotMatch(bad.text, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no paths');
  assert.doesNotMatch(bad.text, /plugin\.json|\/tmp\//);
});
