/**
 * Ended runs are answered from the store's precomputed views (store/ended-views.ts): the same
 * JSON as a view built from the rows, a running run is never kept, a page read through the
 * views pages exactly as before, and retention's delete forgets what it deletes (404 after).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, TEST_STORE, type TestServer } from '../helpers/server.js';
import { publish, startRun, waitForRun } from './helpers.js';

let t: TestServer;
const ids: string[] = [];
/** A kept view's JSON text (views are UTF-8 bytes). */
const text = (v: Uint8Array | undefined): string | undefined => (v === undefined ? undefined : Buffer.from(v).toString('utf8'));

before(async () => {
  t = await startTestServer(['--allow-unsigned', '--drain-timeout', '0']);
  await publish(t, { dagId: 'kept', steps: [{ id: 'a', plugin: 'noop' }, { id: 'b', plugin: 'noop' }], edges: [{ from: 'a', to: 'b' }] });
  for (let i = 0; i < 4; i++) ids.push((await startRun(t, 'kept')).runId);
  for (const id of ids) await waitForRun(t, id);
});
after(() => t.stop());

test('GET /runs/{id} of an ended run: the same JSON from the rows and from the kept view', async () => {
  const views = t.server.ports.endedViews;
  const first = await t.req('GET', `/runs/${ids[0]}`);
  assert.equal(first.status, 200);
  assert.equal(text(views.get('a', ids[0]!, 'full')), first.text, 'an ended run is kept after its first read');
  const again = await t.req('GET', `/runs/${ids[0]}`);
  assert.equal(again.text, first.text);
  // Built from the rows again (the kept view forgotten): byte for byte the same answer.
  views.forget([ids[0]!]);
  assert.equal((await t.req('GET', `/runs/${ids[0]}`)).text, first.text);
  assert.equal(text(views.get('a', ids[0]!, 'full')), first.text);
  assert.equal(views.get('b', ids[0]!, 'full'), undefined, 'kept per tenant');
  assert.equal((await t.req('GET', `/runs/${ids[0]}`, { tenant: 'b', token: await t.token({ tenants: ['b'] }) })).status, 404);
});

test('the SQLite store (its data folder locked) is the views\' sole writer and names a kept run without reading it; PostgreSQL (other nodes delete too) reads the run', async () => {
  const views = t.server.ports.endedViews;
  assert.equal(views.sole, TEST_STORE === 'sqlite');
  assert.equal((await t.req('GET', `/runs/${ids[1]}`)).status, 200);
  const head = views.head('a', ids[1]!);
  if (TEST_STORE === 'sqlite') assert.deepEqual(head, { runId: ids[1], dagId: 'kept', scheduleId: null });
  else assert.equal(head, undefined);
  assert.equal(views.head('b', ids[1]!), undefined, 'per tenant');
});

test('a running run is never kept', async () => {
  await publish(t, { dagId: 'slow', steps: [{ id: 's', plugin: 'sleep', with: { ms: 400 } }] });
  const id = (await startRun(t, 'slow')).runId;
  const r = await t.req('GET', `/runs/${id}`);
  assert.equal(r.body.endedUtc, null, 'still running');
  assert.equal(t.server.ports.endedViews.get('a', id, 'full'), undefined);
  await t.req('GET', '/runs?page_size=50');
  assert.equal(t.server.ports.endedViews.get('a', id, 'item'), undefined);
  const ended = await waitForRun(t, id);
  assert.equal((await t.req('GET', `/runs/${id}`)).text, JSON.stringify(ended));
});

test('GET /runs: pages from the kept items equal the pages built from rows', async () => {
  // The page built from the rows (every kept item forgotten first), then served from the kept items.
  t.server.ports.endedViews.forget(ids);
  const expected = (await t.req('GET', '/runs?page_size=50')).body.items as unknown[];
  assert.equal(expected.length, ids.length + 1, 'the four runs and the slow one');
  for (let round = 0; round < 2; round++) {
    const all = await t.req('GET', '/runs?page_size=50');
    assert.deepEqual(all.body.items, expected);
    assert.equal(all.body.next_page_token, undefined);
    const paged: unknown[] = [];
    let token: string | undefined;
    do {
      const p = await t.req('GET', `/runs?page_size=2${token ? `&page_token=${token}` : ''}`);
      assert.equal(p.status, 200);
      paged.push(...p.body.items);
      token = p.body.next_page_token;
    } while (token);
    assert.deepEqual(paged, expected);
  }
});

test('retention forgets the runs it deletes: 404 and out of the list', async () => {
  const views = t.server.ports.endedViews;
  for (const id of ids) assert.equal((await t.req('GET', `/runs/${id}`)).status, 200);
  assert.equal((await t.req('PUT', '/admin/retention', { body: { maxAgeDays: null, keepLast: 1 } })).status, 200);
  const applied = await t.req('POST', '/admin/retention:apply', { body: {} });
  assert.equal(applied.status, 200, applied.text);
  const gone = ids.slice(0, 3);
  for (const id of gone) {
    assert.equal(views.get('a', id, 'full'), undefined);
    assert.equal(views.get('a', id, 'item'), undefined);
    assert.equal((await t.req('GET', `/runs/${id}`)).status, 404);
  }
  const listed = (await t.req('GET', '/runs?dagId=kept')).body.items.map((r: { runId: string }) => r.runId);
  assert.deepEqual(listed, [ids[3]]);
});
