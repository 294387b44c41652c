/**
 * Cancelling at every moment of a run's life: while it is queued, while a step waits out its
 * retry backoff, racing the run's own completion, and a server killed (SIGKILL) while a run is
 * `cancelling` — after the restart it finishes cancelling.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { childWait, startChild, type Child } from './child.js';
import { GOOD_PLUGINS, publish, startRun, stepOf, TERMINAL, waitForRun, waitUntil } from './helpers.js';

let t: TestServer;
before(async () => {
  t = await startTestServer(['--allow-unsigned', '--max-running-runs', '1', '--rate-limit', '1000']);
  await publish(t, { dagId: 'hold', steps: [{ id: 'nap', plugin: 'sleep', with: { ms: 600_000 } }] });
  await publish(t, { dagId: 'quick', steps: [{ id: 'a', plugin: 'noop' }, { id: 'b', plugin: 'noop' }], edges: [{ from: 'a', to: 'b' }] });
  await publish(t, { dagId: 'flaky', steps: [{ id: 'f', plugin: 'fail', with: { times: 5 }, retries: { max: 3, backoffMs: 600_000 } }, { id: 'next', plugin: 'noop' }], edges: [{ from: 'f', to: 'next' }] });
});
after(() => t.stop());

const cancel = (runId: string, tenant = 'a') => t.req('POST', `/runs/${runId}:cancel`, { tenant, body: { reason: 'test' } });
const eventsOf = async (runId: string) => (await t.server.ports.events.ofRun('a', runId)).map((e) => `${e.stepId ?? 'run'}:${e.status}`);

test('a queued run is cancelled at once: none of its steps ever runs', async () => {
  const holder = await startRun(t, 'hold');
  await waitUntil(t, holder.runId, (r) => r.status === 'running');
  const queued = await startRun(t, 'quick');
  assert.equal((await t.req('GET', `/runs/${queued.runId}`)).body.status, 'queued', 'the one running place is taken');
  const c = await cancel(queued.runId);
  assert.equal(c.status, 202, c.text);
  const run = await waitForRun(t, queued.runId);
  assert.equal(run.status, 'cancelled');
  for (const s of run.steps) {
    assert.equal(s.status, 'cancelled', s.stepId);
    assert.deepEqual(s.attempts, [], `${s.stepId} never ran`);
  }
  assert.deepEqual(await eventsOf(queued.runId), ['run:queued', 'a:cancelled', 'b:cancelled', 'run:cancelled']);
  assert.equal((await cancel(queued.runId)).status, 200, 'repeating is 200');
  assert.equal((await cancel(holder.runId)).status, 202);
  assert.equal((await waitForRun(t, holder.runId)).status, 'cancelled');
});

test('cancel during a retry backoff: the step ends cancelled, no further attempt, its successor never runs', async () => {
  const r = await startRun(t, 'flaky');
  await waitUntil(t, r.runId, (x) => stepOf(x, 'f').status === 'retrying');
  const c = await cancel(r.runId);
  assert.equal(c.status, 202, c.text);
  const run = await waitForRun(t, r.runId);
  assert.equal(run.status, 'cancelled');
  const f = stepOf(run, 'f');
  assert.equal(f.status, 'cancelled');
  assert.deepEqual(f.attempts.map((a: any) => a.status), ['failed'], 'the one attempt before the backoff');
  assert.equal(stepOf(run, 'next').status, 'cancelled');
  assert.deepEqual(stepOf(run, 'next').attempts, []);
  assert.equal((await t.server.ports.runs.get('a', r.runId))!.status, 'cancelled');
});

test('cancel racing completion: one outcome, told truthfully, with exactly one terminal event', async () => {
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < 30; i++) {
    const r = await startRun(t, 'quick');
    // Give the run a head start of 0..4 event-loop turns, so that the cancel lands anywhere.
    for (let k = 0; k < i % 5; k++) await new Promise((res) => setImmediate(res));
    const c = await cancel(r.runId);
    const run = await waitForRun(t, r.runId);
    assert.ok(['completed', 'cancelled'].includes(run.status), run.status);
    if (c.status === 202) assert.equal(run.status, 'cancelled', 'a 202 means this call cancelled it');
    else {
      assert.equal(c.status, 200, c.text);
      assert.equal(c.body.status, run.status, 'a 200 carries the state that stays');
    }
    const terminal = (await t.server.ports.events.ofRun('a', r.runId)).filter((e) => /^run\.(completed|failed|cancelled)$/.test(e.type));
    assert.equal(terminal.length, 1);
    assert.equal(terminal[0]!.status, run.status);
    for (const s of run.steps) assert.ok(TERMINAL.includes(s.status) || s.status === 'skipped', `${s.stepId}: ${s.status}`);
    outcomes[`${c.status} ${run.status}`] = (outcomes[`${c.status} ${run.status}`] ?? 0) + 1;
  }
  console.log(`cancel racing completion, 30 runs: ${JSON.stringify(outcomes)}`);
});

test('SIGKILL while a run is cancelling: after the restart it finishes cancelling', { timeout: 180_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'orch-cancel-kill-'));
  const children: Child[] = [];
  try {
    const a = await startChild(dataDir, ['--plugins-dir', GOOD_PLUGINS]);
    children.push(a);
    // The step ignores its abort signal: the run stays `cancelling` until the grace runs out.
    assert.equal((await a.req('POST', '/dags', { dagId: 'stubborn', version: '1.0.0', steps: [{ id: 's', plugin: 'misbehave', with: { mode: 'ignore-abort' } }, { id: 'after', plugin: 'noop' }], edges: [{ from: 's', to: 'after' }] })).status, 201);
    const r = await a.req('POST', '/runs', { dagId: 'stubborn' });
    assert.equal(r.status, 201);
    await childWait(a, r.body.runId, (x) => x.steps[0].status === 'running');
    const c = await a.req('POST', `/runs/${r.body.runId}:cancel`, {});
    assert.equal(c.status, 202);
    assert.equal(c.body.status, 'cancelling');
    a.proc.kill('SIGKILL');
    assert.equal((await a.exited).signal, 'SIGKILL');

    const b = await startChild(dataDir, ['--plugins-dir', GOOD_PLUGINS]);
    children.push(b);
    const run = await childWait(b, r.body.runId, (x) => TERMINAL.includes(x.status));
    assert.equal(run.status, 'cancelled', JSON.stringify(run));
    assert.deepEqual(run.steps.map((s: any) => s.status), ['cancelled', 'cancelled']);
    assert.deepEqual(run.steps[1].attempts, [], 'the successor never ran');
    b.proc.kill('SIGTERM');
    assert.equal((await b.exited).code, 0);
  } finally {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
