/**
 * The runs API around execution: runToken semantics, inputs validation, version resolution,
 * tenant isolation (another tenant's run looks exactly like a missing one), keyset pagination
 * while runs are inserted, step lists, the NDJSON export.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { parseNdjsonExport } from '../../src/core/index.js';
import { publish, startRun, waitForRun } from './helpers.js';

let t: TestServer;

before(async () => {
  t = await startTestServer(['--allow-unsigned', '--drain-timeout', '0']);
  await publish(t, {
    dagId: 'api',
    inputsSchema: { type: 'object', properties: { n: { type: 'integer' } }, additionalProperties: false },
    steps: [{ id: 'a', plugin: 'noop' }],
  });
  await publish(t, { dagId: 'api', version: '1.1.0', steps: [{ id: 'a', plugin: 'noop' }, { id: 'b', plugin: 'noop' }], edges: [{ from: 'a', to: 'b' }] });
});
after(() => t.stop());

test('POST /runs: 201 with Location and the run; version defaults to the highest active', async () => {
  const r = await t.req('POST', '/runs', { body: { dagId: 'api' } });
  assert.equal(r.status, 201);
  assert.equal(r.headers.get('location'), `/api/v1/orchestrator/runs/${r.body.runId}`);
  assert.match(r.body.runId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(r.body.dagVersion, '1.1.0');
  assert.equal(r.body.tenant, 'a');
  assert.equal(r.body.createdUtc, r.body.startedUtc);
  assert.match(r.body.traceId, /^[0-9a-f]{32}$/);
  assert.deepEqual(Object.keys(r.body).sort(), [
    'cancelReason', 'cancelledBy', 'createdBy', 'createdUtc', 'dagHash', 'dagId', 'dagVersion', 'durationMs', 'endedUtc', 'inputsHash', 'outputsHash',
    'runId', 'runToken', 'scheduleId', 'scheduledUtc', 'startedUtc', 'status', 'steps', 'tenant', 'traceId',
  ]);
  assert.equal(r.body.scheduleId, null, 'a run started by POST /runs has no schedule');
  assert.equal(r.body.scheduledUtc, null);
  assert.deepEqual(Object.keys(r.body.steps[0]).sort(), [
    'attempt', 'attempts', 'durationMs', 'endedUtc', 'errorCode', 'errorMessage', 'inputsHash', 'logsRef',
    'outputs', 'outputsHash', 'retryable', 'startedUtc', 'status', 'stepId',
  ]);
  const done = await waitForRun(t, r.body.runId);
  assert.deepEqual(Object.keys(done.steps[0].attempts[0]).sort(), [
    'attempt', 'durationMs', 'endedUtc', 'errorCode', 'errorMessage', 'logsRef', 'outputsHash', 'startedUtc', 'status',
  ]);
});

test('POST /runs refuses bad requests with the right codes', async () => {
  const cases: Array<[unknown, number, string]> = [
    [{ dagId: 'api', version: '1.0.0', inputs: { n: 'x' } }, 422, 'INPUTS_INVALID'],
    [{ dagId: 'nope' }, 404, 'NOT_FOUND'],
    [{ dagId: 'api', version: '9.9.9' }, 404, 'NOT_FOUND'],
    [{ dagId: 'api', extra: 1 }, 400, 'VALIDATION_FAILED'],
    [{ dagId: 'api', inputs: [1] }, 400, 'VALIDATION_FAILED'],
    [{ dagId: 'api', runToken: '' }, 400, 'VALIDATION_FAILED'],
  ];
  for (const [body, status, code] of cases) {
    const r = await t.req('POST', '/runs', { body });
    assert.equal(r.status, status, JSON.stringify(body));
    assert.equal(r.body.error.code, code);
  }
  await publish(t, { dagId: 'off', steps: [{ id: 'a', plugin: 'noop' }] });
  assert.equal((await t.req('POST', '/dags/off/1.0.0:disable', { body: {} })).status, 200);
  for (const body of [{ dagId: 'off' }, { dagId: 'off', version: '1.0.0' }]) {
    const r = await t.req('POST', '/runs', { body });
    assert.equal(r.status, 422);
    assert.equal(r.body.error.code, 'DAG_DISABLED');
  }
});

test('runToken: same request → 200 with the same run; anything else → 409', async () => {
  const first = await t.req('POST', '/runs', { body: { dagId: 'api', version: '1.0.0', inputs: { n: 1 }, runToken: 'tok-1' } });
  assert.equal(first.status, 201);
  const again = await t.req('POST', '/runs', { body: { dagId: 'api', version: '1.0.0', inputs: { n: 1 }, runToken: 'tok-1' } });
  assert.equal(again.status, 200);
  assert.equal(again.body.runId, first.body.runId);
  const noVersion = await t.req('POST', '/runs', { body: { dagId: 'api', inputs: { n: 1 }, runToken: 'tok-1' } });
  assert.equal(noVersion.status, 200, 'a retry that leaves out version matches');
  for (const body of [
    { dagId: 'api', version: '1.0.0', inputs: { n: 2 }, runToken: 'tok-1' },
    { dagId: 'api', version: '1.1.0', inputs: { n: 1 }, runToken: 'tok-1' },
    { dagId: 'other', inputs: { n: 1 }, runToken: 'tok-1' },
  ]) {
    const r = await t.req('POST', '/runs', { body });
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, 'RUN_TOKEN_CONFLICT');
  }
  // Tokens are per tenant: tenant b, with a DAG of the same id, gets a run of its own.
  await publish(t, { dagId: 'api', version: '1.0.0', steps: [{ id: 'a', plugin: 'noop' }] }, 'b');
  const otherTenant = await t.req('POST', '/runs', { tenant: 'b', body: { dagId: 'api', version: '1.0.0', inputs: { n: 1 }, runToken: 'tok-1' } });
  assert.equal(otherTenant.status, 201, otherTenant.text);
  assert.notEqual(otherTenant.body.runId, first.body.runId);
  assert.equal(otherTenant.body.tenant, 'b');
  assert.equal(otherTenant.body.runToken, 'tok-1');
  const otherAgain = await t.req('POST', '/runs', { tenant: 'b', body: { dagId: 'api', version: '1.0.0', inputs: { n: 1 }, runToken: 'tok-1' } });
  assert.equal(otherAgain.status, 200);
  assert.equal(otherAgain.body.runId, otherTenant.body.runId);
});

test('another tenant\'s run, step or malformed id is answered exactly like a missing one', async () => {
  const run = await startRun(t, 'api', { version: '1.0.0' });
  await waitForRun(t, run.runId);
  const missing = '01900000-0000-7000-8000-000000000000';
  for (const path of ['', '/steps', '/steps/a']) {
    const mine = await t.req('GET', `/runs/${run.runId}${path}`);
    assert.equal(mine.status, 200);
    const theirs = await t.req('GET', `/runs/${run.runId}${path}`, { tenant: 'b' });
    const none = await t.req('GET', `/runs/${missing}${path}`, { tenant: 'b' });
    const bad = await t.req('GET', `/runs/not-a-uuid${path}`, { tenant: 'b' });
    for (const r of [theirs, none, bad]) {
      assert.equal(r.status, 404);
      assert.equal(r.body.error.code, 'NOT_FOUND');
    }
    assert.equal(theirs.body.error.message, none.body.error.message);
    assert.deepEqual([...theirs.headers.keys()].sort(), [...none.headers.keys()].sort());
  }
  const cancel = await t.req('POST', `/runs/${run.runId}:cancel`, { tenant: 'b', body: {} });
  assert.equal(cancel.status, 404);
  assert.equal((await t.req('GET', `/runs/${run.runId}/steps/zz`)).status, 404);
  const list = await t.req('GET', '/runs', { tenant: 'b' });
  assert.equal(list.status, 200);
  assert.ok(list.body.items.every((r: { tenant: string }) => r.tenant === 'b'), 'only tenant b\'s own runs');
  assert.ok(!list.body.items.some((r: { runId: string }) => r.runId === run.runId));
});

test('GET /runs walks every run exactly once, in order, while new runs are inserted', async () => {
  await publish(t, { dagId: 'walk', steps: [{ id: 'a', plugin: 'noop' }] }, 'c');
  const created: any[] = [];
  for (let i = 0; i < 23; i++) created.push(await startRun(t, 'walk', { tenant: 'c' }));
  const expected = created
    .sort((x, y) => (x.startedUtc !== y.startedUtc ? (x.startedUtc > y.startedUtc ? -1 : 1) : x.runId < y.runId ? -1 : 1))
    .map((r) => r.runId);
  const seen: any[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const r = await t.req('GET', `/runs?dagId=walk&page_size=4${token ? `&page_token=${token}` : ''}`, { tenant: 'c' });
    assert.equal(r.status, 200);
    seen.push(...r.body.items);
    token = r.body.next_page_token;
    pages++;
    await startRun(t, 'walk', { tenant: 'c' }); // newer runs sort before the cursor: never seen
  } while (token);
  assert.equal(pages, 6);
  const seenIds = seen.map((r) => r.runId);
  assert.equal(new Set(seenIds).size, seenIds.length, 'no duplicates');
  assert.deepEqual(seenIds, expected);
  for (let i = 1; i < seen.length; i++) {
    const a = seen[i - 1];
    const b = seen[i];
    assert.ok(a.startedUtc > b.startedUtc || (a.startedUtc === b.startedUtc && a.runId < b.runId));
  }
  assert.equal(seen[0].steps, undefined, 'list items carry no steps');
  // A token is bound to its filters and tenant.
  const first = await t.req('GET', '/runs?dagId=walk&page_size=2', { tenant: 'c' });
  const tok = first.body.next_page_token;
  assert.equal((await t.req('GET', `/runs?dagId=api&page_size=2&page_token=${tok}`, { tenant: 'c' })).body.error.code, 'INVALID_PAGE_TOKEN');
  assert.equal((await t.req('GET', `/runs?dagId=walk&page_size=2&page_token=${tok}`, { tenant: 'b' })).body.error.code, 'INVALID_PAGE_TOKEN');
});

test('GET /runs filters: status, from (inclusive), to (exclusive); bad values are 400', async () => {
  const all = (await t.req('GET', '/runs?dagId=walk&page_size=500', { tenant: 'c' })).body.items;
  const pivot = all[5];
  const from = await t.req('GET', `/runs?dagId=walk&page_size=500&from=${pivot.startedUtc}`, { tenant: 'c' });
  assert.ok(from.body.items.every((r: any) => r.startedUtc >= pivot.startedUtc));
  assert.ok(from.body.items.some((r: any) => r.runId === pivot.runId));
  const to = await t.req('GET', `/runs?dagId=walk&page_size=500&to=${pivot.startedUtc}`, { tenant: 'c' });
  assert.ok(to.body.items.every((r: any) => r.startedUtc < pivot.startedUtc));
  assert.equal(from.body.items.length + to.body.items.length, all.length);
  const done = await t.req('GET', '/runs?status=completed&page_size=500', { tenant: 'c' });
  assert.ok(done.body.items.every((r: any) => r.status === 'completed'));
  for (const q of ['status=bogus', 'from=yesterday', 'dagId=BAD!', 'page_size=0']) {
    const r = await t.req('GET', `/runs?${q}`, { tenant: 'c' });
    assert.equal(r.status, 400, q);
    assert.equal(r.body.error.code, 'VALIDATION_FAILED');
  }
});

test('GET /runs/{id}/steps pages in topological order; a step carries its attempts', async () => {
  const ids = Array.from({ length: 7 }, (_, i) => `s${i}`);
  await publish(t, {
    dagId: 'steps',
    steps: [{ id: 'z-root', plugin: 'noop' }, ...ids.map((id) => ({ id, plugin: 'noop' }))],
    edges: ids.map((id) => ({ from: 'z-root', to: id })),
  });
  const run = await waitForRun(t, (await startRun(t, 'steps')).runId);
  const seen: string[] = [];
  let token: string | undefined;
  do {
    const r = await t.req('GET', `/runs/${run.runId}/steps?page_size=3${token ? `&page_token=${token}` : ''}`);
    assert.equal(r.status, 200);
    seen.push(...r.body.items.map((s: any) => s.stepId));
    token = r.body.next_page_token;
  } while (token);
  assert.deepEqual(seen, ['z-root', ...ids]);
  const one = await t.req('GET', `/runs/${run.runId}/steps/s3`);
  assert.equal(one.body.stepId, 's3');
  assert.equal(one.body.attempts.length, 1);
});

test('GET /runs:export streams NDJSON oldest first with steps, attempts and a manifest; twice the same bytes', async () => {
  const a = await t.req('GET', '/runs:export?dagId=walk', { tenant: 'c' });
  assert.equal(a.status, 200);
  assert.match(a.headers.get('content-type')!, /application\/x-ndjson/);
  const rows = parseNdjsonExport(a.text) as any[];
  assert.ok(rows.length >= 23);
  for (let i = 1; i < rows.length; i++) {
    assert.ok(rows[i - 1].startedUtc < rows[i].startedUtc || (rows[i - 1].startedUtc === rows[i].startedUtc && rows[i - 1].runId < rows[i].runId));
  }
  assert.ok(Array.isArray(rows[0].steps) && Array.isArray(rows[0].steps[0].attempts));
  assert.deepEqual(rows[0].inputs, {});
  // Wait until every run ended, then two exports are byte-identical.
  for (const r of rows) await waitForRun(t, r.runId, { tenant: 'c' });
  const b = await t.req('GET', '/runs:export?dagId=walk', { tenant: 'c' });
  const c = await t.req('GET', '/runs:export?dagId=walk', { tenant: 'c' });
  assert.equal(b.text, c.text);
  assert.equal((await t.req('GET', '/runs:export', { tenant: 'zz' })).text.split('\n')[0], '{"manifest":{"count":0,"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}');
});
