/**
 * A token that holds several tenants is still one tenant per request: used with
 * `X-Stella-Tenant: b`, it reaches none of tenant a's resources (each answers exactly like a
 * missing one), lists and exports none, streams none of a's events; a tenant it does not hold is
 * 403 TENANT_FORBIDDEN.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { openNdjson } from '../events/stream-client.js';
import { publish, stepOf, waitForRun } from '../runs/helpers.js';

let t: TestServer;
let both: string;
before(async () => {
  t = await startTestServer(['--allow-unsigned']);
  both = await t.token({ tenants: ['a', 'b'] });
});
after(() => t.stop());

test('a token of tenants a and b, sent for b, never reaches a\'s resources', async () => {
  const as = (tenant: string) => ({ token: both, tenant });
  const spec = { dagId: 'shared', steps: [{ id: 'w', plugin: 'artifact', with: { content: 'only for a' } }] };
  for (const tenant of ['a', 'b']) {
    const r = await t.req('POST', '/dags', { ...as(tenant), body: { version: '1.0.0', ...spec } });
    assert.equal(r.status, 201, r.text);
  }
  const started = await t.req('POST', '/runs', { ...as('a'), body: { dagId: 'shared' } });
  assert.equal(started.status, 201);
  const runId = started.body.runId as string;
  const run = await waitForRun(t, runId, { tenant: 'a' });
  const hash = stepOf(run, 'w').outputs.hash as string;
  const missing = '01900000-0000-7000-8000-000000000000';

  // Reads and writes of a's run, its steps and its artifact, sent for b: exactly like missing ones.
  for (const [method, path, missingPath, body] of [
    ['GET', `/runs/${runId}`, `/runs/${missing}`],
    ['GET', `/runs/${runId}/steps`, `/runs/${missing}/steps`],
    ['GET', `/runs/${runId}/steps/w`, `/runs/${missing}/steps/w`],
    ['POST', `/runs/${runId}:cancel`, `/runs/${missing}:cancel`, {}],
    ['GET', `/artifacts/${hash}`, `/artifacts/${'0'.repeat(64)}`],
  ] as const) {
    const theirs = await t.req(method, path, { ...as('b'), body });
    const none = await t.req(method, missingPath, { ...as('b'), body });
    assert.equal(theirs.status, 404, `${method} ${path}`);
    assert.equal(theirs.body.error.code, 'NOT_FOUND');
    assert.equal(theirs.body.error.message, none.body.error.message, `${method} ${path}: the same message as a missing one`);
    assert.deepEqual([...theirs.headers.keys()].sort(), [...none.headers.keys()].sort(), `${method} ${path}: the same headers`);
  }
  assert.equal((await t.req('GET', `/runs/${runId}`, as('a'))).body.status, 'completed', 'the cancel sent for b changed nothing');

  // Lists, exports and the stream of b hold nothing of a's.
  const list = await t.req('GET', '/runs', as('b'));
  assert.deepEqual(list.body.items, []);
  const exported = await t.req('GET', '/runs:export', as('b'));
  assert.doesNotMatch(exported.text, new RegExp(runId));
  const events = await t.req('GET', '/events:export', as('b'));
  assert.doesNotMatch(events.text, new RegExp(runId));
  const stream = await openNdjson(t, '?since=0', { token: both, tenant: 'b' });
  const bRun = await t.req('POST', '/runs', { ...as('b'), body: { dagId: 'shared' } });
  await stream.until((es) => es.some((e) => e.runId === bRun.body.runId && e.type === 'run.completed'));
  stream.close();
  assert.ok(stream.events.filter((e) => e.type !== 'heartbeat').every((e) => e.tenant === 'b' && e.runId !== runId), 'only b\'s events');

  // The same token for a tenant it does not hold.
  const other = await t.req('GET', '/runs', as('c'));
  assert.equal(other.status, 403);
  assert.equal(other.body.error.code, 'TENANT_FORBIDDEN');
});
