import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, FIXTURES } from '../helpers/server.js';
import { signDag } from '../../src/dags/signature.js';

const devKey = readFileSync(join(FIXTURES, 'keys', 'dev-signing.key'), 'utf8');
const doc = (v: string) => signDag({ dagId: 'idem', version: v, steps: [{ id: 'a', plugin: 'noop' }], edges: [] } as any, devKey);

test('--require-idempotency-key makes the header mandatory on every mutating route', async (t) => {
  const s = await startTestServer(['--require-idempotency-key']);
  t.after(() => s.stop());
  for (const r of s.server.routes.filter((r) => r.mutating)) {
    const path = r.path.replace(/\{[^}]+\}/g, 'x');
    const res = await s.req(r.method, path, { body: {} });
    assert.equal(res.status, 400, r.path);
    assert.equal(res.body.error.code, 'IDEMPOTENCY_KEY_REQUIRED', r.path);
  }
  const ok = await s.req('POST', '/dags', { body: doc('1.0.0'), headers: { 'idempotency-key': 'k' } });
  assert.equal(ok.status, 201);
});

test('keys are kept 24 h, then the same key is a new request', async (t) => {
  let now = Date.parse('2026-11-28T00:00:00.000Z');
  const s = await startTestServer([], {}, { now: () => now });
  t.after(() => s.stop());
  const h = { 'idempotency-key': 'daily' };
  assert.equal((await s.req('POST', '/dags', { body: doc('1.0.0'), headers: h })).status, 201);
  now += 23 * 3600 * 1000;
  const replay = await s.req('POST', '/dags', { body: doc('2.0.0'), headers: h });
  assert.equal(replay.status, 422, 'still remembered after 23 h');
  now += 2 * 3600 * 1000;
  const fresh = await s.req('POST', '/dags', { body: doc('2.0.0'), headers: h });
  assert.equal(fresh.status, 201, 'forgotten after 24 h');
  assert.equal(fresh.headers.get('idempotency-replayed'), null);
});

test('a failed request releases its key: the corrected retry is accepted', async (t) => {
  const s = await startTestServer();
  t.after(() => s.stop());
  const h = { 'idempotency-key': 'retry-me' };
  const bad = await s.req('POST', '/dags', { body: { ...doc('1.0.0'), metadata: { x: 1 } }, headers: h });
  assert.equal(bad.status, 422);
  const again = await s.req('POST', '/dags', { body: doc('1.0.0'), headers: h });
  assert.equal(again.status, 201);
});
