import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../helpers/wait.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { publish, startRun, waitForRun } from '../runs/helpers.js';
import { openNdjson, openWs } from './stream-client.js';

let t: TestServer;
before(async () => {
  t = await startTestServer(['--allow-unsigned', '--heartbeat', '200', '--max-streams', '4']);
  await publish(t, { dagId: 'pair', steps: [{ id: 'one', plugin: 'noop' }, { id: 'two', plugin: 'echo', with: { x: 1 } }], edges: [{ from: 'one', to: 'two' }] });
  await publish(t, { dagId: 'other', steps: [{ id: 'solo', plugin: 'noop' }] });
  await publish(t, { dagId: 'pair', steps: [{ id: 'one', plugin: 'noop' }] }, 'b');
});
after(() => t.stop());

const terminal = (runId: string) => (es: any[]) => es.some((e) => e.runId === runId && /^run\.(completed|failed|cancelled)$/.test(e.type));

function assertRunSequence(events: any[], runId: string) {
  const mine = events.filter((e) => e.runId === runId);
  assert.equal(mine[0].type, 'run.started');
  const terminals = mine.filter((e) => /^run\.(completed|failed|cancelled)$/.test(e.type));
  assert.equal(terminals.length, 1, 'exactly one terminal event');
  assert.equal(mine[mine.length - 1], terminals[0], 'terminal event is last');
  for (const e of mine) {
    // run.started carries who started it (docs/API.md "Actors"); no other event of a run nobody cancelled does.
    const actor = e.type === 'run.started' ? ['actor'] : [];
    assert.deepEqual(Object.keys(e).sort(), [...['seq', 'type', 'tenant', 'dagId', 'runId', 'status', 'timestamp', 'traceId'], ...actor, ...(e.stepId ? ['stepId'] : [])].sort());
    if (e.type === 'run.started') assert.equal(e.actor, 'dev');
    assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(e.traceId, /^[0-9a-f]{32}$/);
    if (e.type === 'step.updated') assert.ok(e.stepId);
  }
  const steps = mine.filter((e) => e.type === 'step.updated');
  assert.ok(steps.some((e) => e.stepId === 'one' && e.status === 'completed'));
}

test('NDJSON stream: a run\'s events in contract order, seq increasing by one, heartbeats', async () => {
  const s = await openNdjson(t);
  const run = await startRun(t, 'pair');
  await s.until(terminal(run.runId));
  await s.until((es) => es.some((e) => e.type === 'heartbeat'));
  s.close();
  const events = s.events.filter((e) => e.type !== 'heartbeat');
  assertRunSequence(events, run.runId);
  for (let i = 1; i < events.length; i++) assert.equal(events[i].seq, events[i - 1].seq + 1);
  assert.deepEqual(Object.keys(s.events.find((e) => e.type === 'heartbeat')).sort(), ['timestamp', 'type']);
});

test('WebSocket stream: same events, one JSON event per text frame', async () => {
  const s = await openWs(t);
  const run = await startRun(t, 'pair');
  await s.until(terminal(run.runId));
  s.close();
  assertRunSequence(s.events, run.runId);
});

test('filters by dagId and status', async () => {
  const byDag = await openNdjson(t, '?dagId=other');
  const byStatus = await openWs(t, '?status=completed');
  const r1 = await startRun(t, 'pair');
  const r2 = await startRun(t, 'other');
  await byDag.until(terminal(r2.runId));
  await byStatus.until(terminal(r2.runId));
  await waitForRun(t, r1.runId);
  byDag.close();
  byStatus.close();
  assert.ok(byDag.events.filter((e) => e.type !== 'heartbeat').every((e) => e.dagId === 'other'));
  assert.ok(byStatus.events.filter((e) => e.type !== 'heartbeat').every((e) => e.status === 'completed'));
  assert.ok(byStatus.events.some((e) => e.runId === r1.runId && e.type === 'run.completed'));
});

test('resume after a disconnect with since= or Last-Event-ID: no gap, no duplicate', async () => {
  const first = await openNdjson(t, '?since=0');
  const run = await startRun(t, 'pair');
  await first.until((es) => es.filter((e) => e.runId === run.runId).length >= 2);
  first.close();
  const seen = first.events.filter((e) => e.type !== 'heartbeat');
  const last = seen[seen.length - 1].seq;
  // More events happen while disconnected.
  const run2 = await startRun(t, 'pair');
  await waitForRun(t, run2.runId);
  for (const how of ['query', 'header'] as const) {
    const again = how === 'query' ? await openNdjson(t, `?since=${last}`) : await openNdjson(t, '', { headers: { 'last-event-id': String(last) } });
    await again.until(terminal(run2.runId));
    again.close();
    const all = [...seen, ...again.events.filter((e) => e.type !== 'heartbeat')];
    const seqs = all.map((e) => e.seq);
    assert.equal(new Set(seqs).size, seqs.length, `${how}: no duplicates`);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1, `${how}: no gap at ${seqs[i - 1]}`);
  }
});

test('tenant b never sees tenant a\'s events', async () => {
  const b = await openWs(t, '?since=0', { tenant: 'b' });
  const bRun = await startRun(t, 'pair', { tenant: 'b' });
  const aRun = await startRun(t, 'pair');
  await waitForRun(t, aRun.runId);
  await b.until(terminal(bRun.runId));
  b.close();
  assert.ok(b.events.length > 0);
  for (const e of b.events) {
    if (e.type === 'heartbeat') continue;
    assert.equal(e.tenant, 'b');
    assert.notEqual(e.runId, aRun.runId);
  }
});

test('the stream closes when the token expires', async () => {
  const token = await t.token({ ttlSec: 1 });
  const nd = await openNdjson(t, '', { token });
  const ws = await openWs(t, '', { token });
  await nd.ended;
  const info = await ws.closeInfo;
  assert.equal(nd.events.at(-1).type, 'error');
  assert.equal(nd.events.at(-1).code, 'TOKEN_EXPIRED');
  assert.equal(info.code, 4001);
});

test('per-tenant cap on open streams (429 QUOTA_EXCEEDED), other tenants unaffected', async () => {
  const open = [];
  for (let i = 0; i < 4; i++) open.push(await openNdjson(t, '', { tenant: 'cap' }));
  const over = await openNdjson(t, '', { tenant: 'cap' });
  assert.equal(over.status, 429);
  assert.equal(over.body.error.code, 'QUOTA_EXCEEDED');
  await assert.rejects(openWs(t, '', { tenant: 'cap' }), (e: any) => e.status === 429);
  const other = await openNdjson(t, '', { tenant: 'cap2' });
  assert.equal(other.status, 200);
  other.close();
  for (const s of open) s.close();
  // Closed streams free their places (once the server has seen the clients go).
  let again = await openNdjson(t, '', { tenant: 'cap' });
  await until(async () => {
    if (again.status === 200) return true;
    assert.equal(again.status, 429, 'refused only for the cap until the places are back');
    again = await openNdjson(t, '', { tenant: 'cap' });
    return false;
  }, 'closed streams free their places');
  again.close();
});

test('bad stream parameters are 400 in the envelope', async () => {
  for (const q of ['?since=-1', '?status=weird', '?dagId=BAD', '?extra=1']) {
    const r = await t.req('GET', `/runs/stream${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(r.body.error.code, 'VALIDATION_FAILED');
  }
});
