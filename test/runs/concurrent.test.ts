/**
 * Requests that race for one resource over real HTTP on a real server (the request side runs
 * on the storage ports, its reads and writes in async transactions): one runToken, one
 * Idempotency-Key, one DAG version. Each race has exactly one winner and every loser is answered
 * from it, never a 500 or a second resource.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { publish } from './helpers.js';

let t: TestServer;
const N = 12;

before(async () => {
  t = await startTestServer(['--allow-unsigned', '--drain-timeout', '0', '--max-queued-runs', '1000']);
  await publish(t, { dagId: 'race', steps: [{ id: 'a', plugin: 'noop' }] });
});
after(() => t.stop());

test(`${N} concurrent POST /runs with one runToken make one run: one 201, the others 200 with it`, async () => {
  const body = { dagId: 'race', inputs: {}, runToken: 'same-token' };
  const got = await Promise.all(Array.from({ length: N }, () => t.req('POST', '/runs', { body })));
  for (const r of got) assert.ok(r.status === 201 || r.status === 200, `${r.status} ${r.text}`);
  assert.equal(got.filter((r) => r.status === 201).length, 1);
  assert.equal(new Set(got.map((r) => r.body.runId)).size, 1);
  const listed = await t.req('GET', '/runs?dagId=race&page_size=100');
  assert.equal(listed.body.items.filter((r: { runToken?: string }) => r.runToken === 'same-token').length, 1);
  // Another request under the token meanwhile: refused, whatever the order.
  const other = await Promise.all(Array.from({ length: 4 }, (_, i) => t.req('POST', '/runs', { body: { ...body, inputs: { i } } })));
  for (const r of other) assert.equal(r.body.error?.code, 'RUN_TOKEN_CONFLICT', r.text);
});

test(`${N} concurrent POST /runs with one Idempotency-Key make one run; the others replay it or are told it is in flight`, async () => {
  const headers = { 'idempotency-key': 'race-key' };
  const got = await Promise.all(Array.from({ length: N }, () => t.req('POST', '/runs', { body: { dagId: 'race' }, headers })));
  const created = got.filter((r) => r.status === 201 && r.headers.get('idempotency-replayed') === null);
  assert.equal(created.length, 1, got.map((r) => r.status).join(','));
  for (const r of got) {
    if (r.status === 409) assert.equal(r.body.error.code, 'IDEMPOTENCY_IN_FLIGHT', r.text);
    else assert.equal(r.status === 201 && r.body.runId, created[0]!.body.runId, r.text);
  }
  const replay = await t.req('POST', '/runs', { body: { dagId: 'race' }, headers });
  assert.equal(replay.status, 201);
  assert.equal(replay.headers.get('idempotency-replayed'), 'true');
  assert.equal(replay.body.runId, created[0]!.body.runId);
});

test(`${N} concurrent publishes of one DAG version store it once: one 201, the same content 200, other content 409`, async () => {
  const doc = (n: number) => ({ dagId: 'race-dag', version: '1.0.0', steps: [{ id: `s${n}`, plugin: 'noop' }] });
  const same = await Promise.all(Array.from({ length: N }, () => t.req('POST', '/dags', { body: doc(0) })));
  for (const r of same) assert.ok(r.status === 201 || r.status === 200, `${r.status} ${r.text}`);
  assert.equal(same.filter((r) => r.status === 201).length, 1);
  const mixed = await Promise.all(Array.from({ length: N }, (_, i) => t.req('POST', '/dags', { body: { ...doc(i % 2), version: '2.0.0' } })));
  const won = mixed.filter((r) => r.status === 201);
  assert.equal(won.length, 1, mixed.map((r) => r.status).join(','));
  for (const r of mixed) {
    if (r.status === 201) continue;
    if (r.status === 409) assert.equal(r.body.error.code, 'DAG_VERSION_EXISTS', r.text);
    else assert.equal(r.status, 200, r.text);
  }
  const listed = await t.req('GET', '/dags?dagId=race-dag&page_size=10');
  assert.deepEqual(listed.body.items.map((d: { version: string }) => d.version), ['2.0.0', '1.0.0']);
});
