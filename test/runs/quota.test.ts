/**
 * Quotas and fairness between tenants: per-tenant running and queued limits (429
 * QUOTA_EXCEEDED with Retry-After), and one busy tenant cannot starve another, neither for run
 * admission nor for step slots.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { publish, startRun, stepOf, waitForRun, waitUntil } from './helpers.js';

let t: TestServer;

before(async () => {
  // One worker: 64 step slots in all. Per tenant: 2 runs running, 3 waiting.
  t = await startTestServer(['--allow-unsigned', '--drain-timeout', '0', '--workers', '1', '--max-running-runs', '2', '--max-queued-runs', '3']);
  for (const tenant of ['a', 'b']) {
    await publish(t, { dagId: 'nap', steps: [{ id: 'nap', plugin: 'sleep', with: { ms: '${{ inputs.ms }}' } }] }, tenant);
    const leaves = Array.from({ length: 256 }, (_, i) => `leaf${String(i).padStart(3, '0')}`);
    await publish(t, {
      dagId: 'wide',
      steps: [{ id: 'root', plugin: 'noop' }, ...leaves.map((id) => ({ id, plugin: 'sleep', with: { ms: 500 } }))],
      edges: leaves.map((id) => ({ from: 'root', to: id })),
    }, tenant);
  }
});
after(() => t.stop());

test('per-tenant limits: 2 running, 3 queued, then 429 QUOTA_EXCEEDED; other tenants unaffected', async () => {
  // The two running runs hold their places until cancelled, so the others can only wait.
  const running = [await startRun(t, 'nap', { inputs: { ms: 600_000 } }), await startRun(t, 'nap', { inputs: { ms: 600_000 } })];
  for (const r of running) await waitUntil(t, r.runId, (x) => x.status === 'running');
  const queued = [];
  for (let i = 0; i < 3; i++) queued.push(await startRun(t, 'nap', { inputs: { ms: 10 } }));
  for (const q of queued) assert.equal((await t.req('GET', `/runs/${q.runId}`)).body.status, 'queued');
  const refused = await t.req('POST', '/runs', { body: { dagId: 'nap', inputs: { ms: 10 } } });
  assert.equal(refused.status, 429);
  assert.equal(refused.body.error.code, 'QUOTA_EXCEEDED');
  assert.match(refused.headers.get('retry-after')!, /^\d+$/);
  const other = await startRun(t, 'nap', { tenant: 'b', inputs: { ms: 10 } });
  assert.equal((await waitForRun(t, other.runId, { tenant: 'b' })).status, 'completed', 'tenant b runs while a is full');
  for (const q of queued) assert.equal((await t.req('GET', `/runs/${q.runId}`)).body.status, 'queued', 'still waiting for a place');
  for (const r of running) assert.equal((await t.req('POST', `/runs/${r.runId}:cancel`, { body: {} })).status, 202);
  for (const r of running) assert.equal((await waitForRun(t, r.runId)).status, 'cancelled');
  for (const q of queued) assert.equal((await waitForRun(t, q.runId)).status, 'completed');
  // Queued runs started in FIFO order.
  const starts = await Promise.all(queued.map(async (q) => stepOf((await t.req('GET', `/runs/${q.runId}`)).body, 'nap').startedUtc));
  assert.deepEqual([...starts].sort(), starts);
  assert.equal((await t.req('POST', '/runs', { body: { dagId: 'nap', inputs: { ms: 1 } } })).status, 201, 'accepted again once drained');
});

test('fairness: a tenant with a 256-step fan-out does not starve another tenant\'s steps', async () => {
  const big = await startRun(t, 'wide');
  await waitUntil(t, big.runId, (r) => r.steps.filter((s: any) => s.status === 'running').length >= 32);
  const small = await startRun(t, 'nap', { tenant: 'b', inputs: { ms: 50 } });
  const smallDone = await waitForRun(t, small.runId, { tenant: 'b' });
  const bigDone = await waitForRun(t, big.runId);
  assert.equal(smallDone.status, 'completed');
  assert.equal(bigDone.status, 'completed');
  const lastBigStart = bigDone.steps.map((s: any) => s.startedUtc).sort().at(-1);
  const smallStart = stepOf(smallDone, 'nap').startedUtc;
  assert.ok(smallStart < lastBigStart, `b's step started (${smallStart}) before a's queue drained (${lastBigStart})`);
  assert.ok(smallDone.endedUtc < bigDone.endedUtc);
  // It waited for a free slot, not behind a's queue: of a's steps still waiting when b's run
  // was accepted, most started after b's step (counted, not timed).
  const bigStarts = bigDone.steps.map((s: any) => s.startedUtc as string);
  const waitingAtAccept = bigStarts.filter((s: string) => s > smallDone.startedUtc).length;
  const startedAfterB = bigStarts.filter((s: string) => s > smallStart).length;
  assert.ok(waitingAtAccept > 64, `a still had ${waitingAtAccept} steps to start when b's run was accepted`);
  assert.ok(startedAfterB >= waitingAtAccept - 64, `b's step was not queued behind a's: ${startedAfterB} of ${waitingAtAccept} waiting steps of a started after it`);
});
