/**
 * The schedule resource over HTTP on a real server (CONTRACT §11): idempotent create, 409 on
 * another body, validation naming the field, unknown DAGs, list order and filters, get with
 * `upcoming`, replace, pause/resume, trigger, delete (runs stay), export, tenancy. The server's
 * clock is a ManualClock, so no fire happens unless a test moves it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { readNdjsonExport } from '../../src/core/index.js';
import { publish, waitForRun } from '../runs/helpers.js';
import { ManualClock } from './manual-clock.js';
import { createSchedule, runsOf } from './helpers.js';

const T0 = Date.parse('2026-03-28T12:00:10Z');
let t: TestServer;
const clock = new ManualClock(T0);

before(async () => {
  t = await startTestServer(['--allow-unsigned', '--drain-timeout', '0'], {}, clock);
  await publish(t, {
    dagId: 'feeds',
    inputsSchema: { type: 'object', properties: { n: { type: 'integer' } }, additionalProperties: false },
    steps: [{ id: 'a', plugin: 'noop' }],
  });
  await publish(t, { dagId: 'other', steps: [{ id: 'a', plugin: 'noop' }] });
});
after(() => t.stop());

test('POST /schedules: 201 with defaults filled in; the same body 200; another body 409 SCHEDULE_EXISTS', async () => {
  const body = { scheduleId: 'nightly', dagId: 'feeds', cron: '30 2 * * *', timezone: 'Europe/Berlin' };
  const r = await t.req('POST', '/schedules', { body });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.headers.get('location'), '/api/v1/orchestrator/schedules/nightly');
  assert.equal(r.body.overlap, 'skip');
  assert.deepEqual(r.body.catchup, { policy: 'latest', window: 'PT1H' });
  assert.deepEqual(r.body.inputs, {});
  assert.equal(r.body.paused, false);
  assert.equal(r.body.lastFire, null);
  // 02:30 on 29 March does not exist in Berlin: the first instant after the gap, 03:00 CEST.
  assert.equal(r.body.nextFireUtc, '2026-03-29T01:00:00.000Z');
  const again = await t.req('POST', '/schedules', { body: { ...body, overlap: 'skip', inputs: {} } });
  assert.equal(again.status, 200, 'defaults spelled out are the same schedule');
  assert.equal(again.body.createdUtc, r.body.createdUtc);
  const other = await t.req('POST', '/schedules', { body: { ...body, cron: '0 3 * * *' } });
  assert.equal(other.status, 409);
  assert.equal(other.body.error.code, 'SCHEDULE_EXISTS');
});

test('bad cron, zone, window, unknown field: 400 VALIDATION_FAILED naming the field; unknown DAG 422 DAG_INVALID', async () => {
  const base = { scheduleId: 'bad', dagId: 'feeds', cron: '* * * * *' };
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ ...base, cron: '61 * * * *' }, 'body.cron'],
    [{ ...base, cron: '0 0 31 2 *' }, 'body.cron'],
    [{ ...base, timezone: 'Mars/Olympus' }, 'body.timezone'],
    [{ ...base, timezone: '+02:00' }, 'body.timezone'],
    [{ ...base, catchup: { policy: 'all', window: 'P1M' } }, 'body.catchup.window'],
  ];
  for (const [body, field] of cases) {
    const r = await t.req('POST', '/schedules', { body });
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.error.code, 'VALIDATION_FAILED');
    assert.equal(r.body.error.details.field, field, r.text);
  }
  const extra = await t.req('POST', '/schedules', { body: { ...base, owner: 'x' } });
  assert.equal(extra.status, 400);
  const policy = await t.req('POST', '/schedules', { body: { ...base, overlap: 'queue' } });
  assert.equal(policy.status, 400);
  const ends = await t.req('POST', '/schedules', { body: { ...base, startUtc: '2027-01-01T00:00:00Z', endUtc: '2026-01-01T00:00:00Z' } });
  assert.equal(ends.status, 400);
  assert.equal(ends.body.error.details.field, 'body.endUtc');
  for (const body of [{ ...base, dagId: 'nope' }, { ...base, version: '9.9.9' }]) {
    const r = await t.req('POST', '/schedules', { body });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.error.code, 'DAG_INVALID');
  }
  const inputs = await t.req('POST', '/schedules', { body: { ...base, inputs: { n: 'x' } } });
  assert.ok(inputs.status >= 400 && inputs.status < 500, inputs.text);
  const list = await t.req('GET', '/schedules?dagId=feeds');
  assert.ok(!list.body.items.some((s: any) => s.scheduleId === 'bad'), 'nothing was stored');
});

test('GET /schedules/{id}: upcoming holds the next 5 fires in UTC and local time', async () => {
  await createSchedule(t, { scheduleId: 'ny', dagId: 'feeds', cron: '0 9 * * MON-FRI', timezone: 'America/New_York' });
  const r = await t.req('GET', '/schedules/ny');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.upcoming.slice(0, 2), [
    { utc: '2026-03-30T13:00:00.000Z', local: '2026-03-30T09:00:00.000-04:00' },
    { utc: '2026-03-31T13:00:00.000Z', local: '2026-03-31T09:00:00.000-04:00' },
  ]);
  assert.equal(r.body.upcoming.length, 5);
  assert.equal(r.body.nextFireUtc, r.body.upcoming[0].utc);
  const missing = await t.req('GET', '/schedules/none');
  assert.equal(missing.status, 404);
  const otherTenant = await t.req('GET', '/schedules/ny', { tenant: 'b' });
  assert.equal(otherTenant.status, 404, "another tenant's schedule looks missing");
});

test('GET /schedules: scheduleId ASC, filters dagId and paused, keyset pages', async () => {
  for (const id of ['l-c', 'l-a', 'l-b']) await createSchedule(t, { scheduleId: id, dagId: 'other', cron: '@daily' });
  await t.req('POST', '/schedules/l-b:pause', { body: {} });
  const all = await t.req('GET', '/schedules?dagId=other');
  assert.deepEqual(all.body.items.map((s: any) => s.scheduleId), ['l-a', 'l-b', 'l-c']);
  const paused = await t.req('GET', '/schedules?dagId=other&paused=true');
  assert.deepEqual(paused.body.items.map((s: any) => s.scheduleId), ['l-b']);
  const active = await t.req('GET', '/schedules?dagId=other&paused=false');
  assert.deepEqual(active.body.items.map((s: any) => s.scheduleId), ['l-a', 'l-c']);
  const p1 = await t.req('GET', '/schedules?dagId=other&page_size=2');
  assert.deepEqual(p1.body.items.map((s: any) => s.scheduleId), ['l-a', 'l-b']);
  const p2 = await t.req('GET', `/schedules?dagId=other&page_size=2&page_token=${p1.body.next_page_token}`);
  assert.deepEqual(p2.body.items.map((s: any) => s.scheduleId), ['l-c']);
  assert.equal(p2.body.next_page_token, undefined);
  const bad = await t.req('GET', '/schedules?paused=maybe');
  assert.equal(bad.status, 400);
});

test('PUT replaces (updatedUtc changes, history stays); pause and resume are idempotent', async () => {
  const s = await createSchedule(t, { scheduleId: 'swap', dagId: 'feeds', cron: '0 * * * *' });
  clock.advance(1000);
  const put = await t.req('PUT', '/schedules/swap', { body: { dagId: 'feeds', cron: '15 * * * *', description: 'quarter past' } });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.body.cron, '15 * * * *');
  assert.equal(put.body.createdUtc, s.createdUtc);
  assert.notEqual(put.body.updatedUtc, s.updatedUtc);
  assert.equal(put.body.nextFireUtc, '2026-03-28T12:15:00.000Z');
  const mismatch = await t.req('PUT', '/schedules/swap', { body: { scheduleId: 'other', dagId: 'feeds', cron: '15 * * * *' } });
  assert.equal(mismatch.status, 400);
  const missing = await t.req('PUT', '/schedules/nothing', { body: { dagId: 'feeds', cron: '15 * * * *' } });
  assert.equal(missing.status, 404);
  const p1 = await t.req('POST', '/schedules/swap:pause', { body: {} });
  const p2 = await t.req('POST', '/schedules/swap:pause', { body: {} });
  assert.equal(p1.status, 200);
  assert.equal(p2.status, 200);
  assert.equal(p2.body.paused, true);
  assert.equal(p2.body.nextFireUtc, null);
  assert.deepEqual((await t.req('GET', '/schedules/swap')).body.upcoming, []);
  const r = await t.req('POST', '/schedules/swap:resume', { body: {} });
  assert.equal(r.body.paused, false);
  assert.equal(r.body.nextFireUtc, '2026-03-28T12:15:00.000Z');
});

test(':trigger starts one run now carrying scheduleId; DELETE 204 keeps the runs; GET /runs?scheduleId=', async () => {
  await createSchedule(t, { scheduleId: 'manual', dagId: 'feeds', cron: '@yearly', inputs: { n: 3 } });
  const r = await t.req('POST', '/schedules/manual:trigger', { body: {} });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.scheduleId, 'manual');
  assert.equal(r.body.scheduledUtc, new Date(clock.now()).toISOString());
  await waitForRun(t, r.body.runId);
  const runs = await runsOf(t, 'manual');
  assert.deepEqual(runs.map((x) => x.runId), [r.body.runId]);
  const notMine = await t.req('GET', '/runs?scheduleId=swap');
  assert.deepEqual(notMine.body.items, []);
  const del = await t.req('DELETE', '/schedules/manual');
  assert.equal(del.status, 204);
  assert.equal(del.text, '');
  assert.equal((await t.req('GET', '/schedules/manual')).status, 404);
  assert.equal((await t.req('DELETE', '/schedules/manual')).status, 404);
  assert.deepEqual((await runsOf(t, 'manual')).map((x) => x.runId), [r.body.runId], 'its runs stay');
  const trig404 = await t.req('POST', '/schedules/manual:trigger', { body: {} });
  assert.equal(trig404.status, 404);
});

test('GET /schedules:export: NDJSON, scheduleId ASC, manifest; a read token cannot write', async () => {
  const r = await t.req('GET', '/schedules:export?dagId=other');
  assert.equal(r.status, 200);
  const { records } = readNdjsonExport(r.text);
  assert.deepEqual(records.map((s: any) => s.scheduleId), ['l-a', 'l-b', 'l-c']);
  assert.ok(records.every((s: any) => s.tenant === 'a'));
  const read = await t.token({ tenants: ['a'], scopes: ['orchestrator:read'] });
  const denied = await t.req('POST', '/schedules/l-a:pause', { token: read, body: {} });
  assert.equal(denied.status, 403);
  const allowed = await t.req('GET', '/schedules', { token: read });
  assert.equal(allowed.status, 200);
});
