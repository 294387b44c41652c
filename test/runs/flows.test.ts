/**
 * Real runs through the HTTP API with real workers: chains, fan-out/fan-in, references, every
 * trigger, skip propagation, retries, timeouts of a busy loop, cancellation mid-step, and the
 * event rows each run leaves (contract sequence, hash chain, transitions only forward).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../helpers/wait.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { canonicalHash } from '../../src/core/index.js';
import { eventHash, type EventRow } from '../../src/store/index.js';
import { canMoveRun, canMoveStep, type RunStatus, type StepStatus } from '../../src/engine/scheduler/states.js';
import { GOOD_PLUGINS, publish, startRun, statuses, stepOf, waitForRun, waitUntil } from './helpers.js';

let t: TestServer;

before(async () => {
  t = await startTestServer(['--allow-unsigned', '--drain-timeout', '0', '--plugins-dir', GOOD_PLUGINS]);
});
after(() => t.stop());

test('a chain passes outputs along; hashes follow the contract', async () => {
  await publish(t, {
    dagId: 'chain',
    inputsSchema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
    steps: [
      { id: 'a', plugin: 'echo', with: { n: '${{ inputs.n }}' } },
      { id: 'b', plugin: 'echo', with: { n: '${{ steps.a.outputs.n }}', msg: 'n=${{ steps.a.outputs.n }}' } },
      { id: 'c', plugin: 'echo', with: { all: '${{ steps.b.outputs }}' } },
    ],
    edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }],
  });
  const started = await startRun(t, 'chain', { inputs: { n: 7 } });
  assert.equal(started.status, 'queued');
  assert.deepEqual(statuses(started), { a: 'pending', b: 'pending', c: 'pending' });
  const run = await waitForRun(t, started.runId);
  assert.equal(run.status, 'completed');
  assert.deepEqual(stepOf(run, 'c').outputs, { all: { n: 7, msg: 'n=7' } });
  assert.equal(run.inputsHash, canonicalHash({ n: 7 }));
  const b = stepOf(run, 'b');
  assert.equal(b.inputsHash, canonicalHash({ n: 7, msg: 'n=7' }));
  assert.equal(b.outputsHash, canonicalHash(b.outputs));
  const outs = Object.fromEntries(run.steps.map((s: any) => [s.stepId, s.outputsHash]));
  assert.equal(run.outputsHash, canonicalHash(outs));
  assert.ok(run.durationMs >= 0 && run.endedUtc >= run.startedUtc);
  assert.deepEqual(run.steps.map((s: any) => s.stepId), ['a', 'b', 'c']);
});

test('fan-out and fan-in: the sink runs once every branch completed', async () => {
  const branches = Array.from({ length: 12 }, (_, i) => `m${String(i).padStart(2, '0')}`);
  await publish(t, {
    dagId: 'fan',
    steps: [
      { id: 'root', plugin: 'echo', with: { k: 'v' } },
      ...branches.map((id) => ({ id, plugin: 'echo', with: { from: '${{ steps.root.outputs.k }}', id } })),
      { id: 'sink', plugin: 'noop' },
    ],
    edges: [...branches.map((id) => ({ from: 'root', to: id })), ...branches.map((id) => ({ from: id, to: 'sink' }))],
  });
  const run = await waitForRun(t, (await startRun(t, 'fan')).runId);
  assert.equal(run.status, 'completed');
  assert.deepEqual(run.steps.map((s: any) => s.stepId), ['root', ...branches, 'sink']);
  const sink = stepOf(run, 'sink');
  for (const id of branches) {
    assert.deepEqual(stepOf(run, id).outputs, { from: 'v', id });
    assert.ok(stepOf(run, id).endedUtc <= sink.startedUtc);
  }
});

test('an unresolvable reference fails the step with REFERENCE_UNRESOLVED (no retry) and skips its dependants', async () => {
  await publish(t, {
    dagId: 'badref',
    steps: [
      { id: 'a', plugin: 'echo', with: { x: 1 } },
      { id: 'b', plugin: 'echo', with: { y: '${{ steps.a.outputs.missing }}' }, retries: { max: 3, backoffMs: 1 } },
      { id: 'c', plugin: 'noop' },
    ],
    edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }],
  });
  const run = await waitForRun(t, (await startRun(t, 'badref')).runId);
  assert.equal(run.status, 'failed');
  const b = stepOf(run, 'b');
  assert.equal(b.status, 'failed');
  assert.equal(b.errorCode, 'REFERENCE_UNRESOLVED');
  assert.equal(b.retryable, false);
  assert.equal(b.attempts.length, 1);
  assert.equal(stepOf(run, 'c').status, 'skipped');
});

test('every trigger rule, and skip propagation through a chain', async () => {
  await publish(t, {
    dagId: 'triggers',
    steps: [
      { id: 'ok', plugin: 'noop' },
      { id: 'bad', plugin: 'fail', with: { code: 'BOOM', retryable: false } },
      { id: 'all-success', plugin: 'noop' },
      { id: 'all-done', plugin: 'noop', trigger: 'all_done' },
      { id: 'one-failed', plugin: 'noop', trigger: 'one_failed' },
      { id: 'one-success', plugin: 'noop', trigger: 'one_success' },
      { id: 'none-failed', plugin: 'noop', trigger: 'none_failed' },
      { id: 'ok-only-none-failed', plugin: 'noop', trigger: 'none_failed' },
      { id: 'ok-only-one-failed', plugin: 'noop', trigger: 'one_failed' },
      { id: 'after-skip', plugin: 'noop' },
      { id: 'after-skip-2', plugin: 'noop' },
      { id: 'after-skip-done', plugin: 'noop', trigger: 'all_done' },
    ],
    edges: [
      ...['all-success', 'all-done', 'one-failed', 'one-success', 'none-failed'].flatMap((to) => [
        { from: 'ok', to },
        { from: 'bad', to },
      ]),
      { from: 'ok', to: 'ok-only-none-failed' },
      { from: 'ok', to: 'ok-only-one-failed' },
      { from: 'all-success', to: 'after-skip' },
      { from: 'after-skip', to: 'after-skip-2' },
      { from: 'after-skip-2', to: 'after-skip-done' },
    ],
  });
  const run = await waitForRun(t, (await startRun(t, 'triggers')).runId);
  assert.deepEqual(statuses(run), {
    ok: 'completed',
    bad: 'failed',
    'all-success': 'skipped',
    'all-done': 'completed',
    'one-failed': 'completed',
    'one-success': 'completed',
    'none-failed': 'skipped',
    'ok-only-none-failed': 'completed',
    'ok-only-one-failed': 'skipped',
    'after-skip': 'skipped',
    'after-skip-2': 'skipped',
    'after-skip-done': 'completed',
  });
  assert.equal(run.status, 'failed', 'a failed step fails the run');
  assert.equal(stepOf(run, 'bad').errorCode, 'BOOM');
  assert.deepEqual(stepOf(run, 'all-success').attempts, []);
});

test('retries with exponential backoff list every attempt', async () => {
  await publish(t, {
    dagId: 'retry',
    steps: [
      { id: 'flaky', plugin: 'fail', with: { times: 2, code: 'FLAKY' }, retries: { max: 3, backoffMs: 40, factor: 2 } },
      { id: 'never', plugin: 'fail', with: { code: 'ALWAYS' }, retries: { max: 1, backoffMs: 1 } },
    ],
  });
  const run = await waitForRun(t, (await startRun(t, 'retry')).runId);
  const flaky = stepOf(run, 'flaky');
  assert.equal(flaky.status, 'completed');
  assert.equal(flaky.attempt, 3);
  assert.deepEqual(flaky.attempts.map((a: any) => [a.attempt, a.status, a.errorCode]), [
    [1, 'failed', 'FLAKY'],
    [2, 'failed', 'FLAKY'],
    [3, 'completed', null],
  ]);
  assert.deepEqual(flaky.outputs, { attempt: 3 });
  const gap1 = Date.parse(flaky.attempts[1].startedUtc) - Date.parse(flaky.attempts[0].endedUtc);
  const gap2 = Date.parse(flaky.attempts[2].startedUtc) - Date.parse(flaky.attempts[1].endedUtc);
  assert.ok(gap1 >= 40 && gap2 >= 80, `backoff grows: ${gap1}, ${gap2}`);
  for (const a of flaky.attempts.slice(0, 2)) assert.match(a.logsRef, /^[0-9a-f]{64}$/);
  const never = stepOf(run, 'never');
  assert.equal(never.status, 'failed');
  assert.deepEqual(never.attempts.map((a: any) => a.status), ['failed', 'failed']);
  assert.equal(run.status, 'failed');
  // The failed attempt's log is an artifact of the tenant.
  const log = await t.req('GET', `/artifacts/${flaky.attempts[0].logsRef}`);
  assert.equal(log.status, 200);
  assert.match(log.headers.get('content-type')!, /application\/x-ndjson/);
  assert.match(log.text, /"level":"error".*FLAKY/);
});

test('a busy-looping step is failed by its timeout (and its worker replaced)', async () => {
  await publish(t, {
    dagId: 'spin',
    steps: [
      { id: 'spin', plugin: 'misbehave', with: { mode: 'busy-loop' }, timeoutMs: 300 },
      { id: 'after', plugin: 'noop' },
      { id: 'cleanup', plugin: 'noop', trigger: 'all_done' },
    ],
    edges: [{ from: 'spin', to: 'after' }, { from: 'spin', to: 'cleanup' }],
  });
  const run = await waitForRun(t, (await startRun(t, 'spin')).runId, { timeoutMs: 30_000 });
  const spin = stepOf(run, 'spin');
  const took = Date.parse(spin.endedUtc) - Date.parse(spin.startedUtc);
  assert.ok(took < 300 + 5000 + 3000, `failed within timeout + grace, by the server's clock (${took} ms)`);
  assert.equal(spin.status, 'failed');
  assert.equal(spin.errorCode, 'STEP_TIMEOUT');
  assert.deepEqual(statuses(run), { spin: 'failed', after: 'skipped', cleanup: 'completed' });
  // The pool still works afterwards.
  await publish(t, { dagId: 'after-spin', steps: [{ id: 'x', plugin: 'noop' }] });
  assert.equal((await waitForRun(t, (await startRun(t, 'after-spin')).runId)).status, 'completed');
});

test('cancelling mid-step aborts the running step and cancels the rest; repeating is 200', async () => {
  await publish(t, {
    dagId: 'sleepy',
    steps: [
      { id: 'nap', plugin: 'sleep', with: { ms: 30_000 } },
      { id: 'later', plugin: 'noop' },
      { id: 'side', plugin: 'sleep', with: { ms: 30_000 } },
    ],
    edges: [{ from: 'nap', to: 'later' }],
  });
  const started = await startRun(t, 'sleepy');
  await waitUntil(t, started.runId, (r) => stepOf(r, 'nap').status === 'running' && stepOf(r, 'side').status === 'running');
  const c1 = await t.req('POST', `/runs/${started.runId}:cancel`, { body: { reason: 'test' } });
  assert.equal(c1.status, 202);
  assert.ok(['cancelling', 'cancelled'].includes(c1.body.status));
  const run = await waitForRun(t, started.runId);
  assert.equal(run.status, 'cancelled');
  assert.deepEqual(statuses(run), { nap: 'cancelled', side: 'cancelled', later: 'cancelled' });
  assert.equal(stepOf(run, 'nap').attempts[0].status, 'cancelled');
  assert.equal(stepOf(run, 'nap').errorCode, 'CANCELLED');
  const c2 = await t.req('POST', `/runs/${started.runId}:cancel`, { body: {} });
  assert.equal(c2.status, 200);
  assert.equal(c2.body.status, 'cancelled');
});

test('a run timeout (metadata.runTimeoutMs) fails what is left with RUN_TIMEOUT', async () => {
  await publish(t, {
    dagId: 'deadline',
    metadata: { runTimeoutMs: 300 },
    steps: [{ id: 'nap', plugin: 'sleep', with: { ms: 30_000 } }, { id: 'next', plugin: 'noop' }],
    edges: [{ from: 'nap', to: 'next' }],
  });
  const run = await waitForRun(t, (await startRun(t, 'deadline')).runId);
  assert.equal(run.status, 'failed');
  assert.equal(stepOf(run, 'nap').status, 'failed');
  assert.equal(stepOf(run, 'nap').errorCode, 'RUN_TIMEOUT');
  assert.equal(stepOf(run, 'next').status, 'cancelled');
});

function checkEvents(rows: EventRow[]): void {
  let prev = '';
  rows.forEach((e, i) => {
    assert.equal(e.seq, i + 1, 'seq has no gap');
    assert.equal(e.prevHash, prev);
    assert.equal(e.hash, eventHash(prev, e));
    prev = e.hash;
  });
  const runs = new Map<string, EventRow[]>();
  // (Events without a run, runId '', are DAG and schedule changes: docs/API.md "Actors".)
  for (const e of rows) if (e.runId !== '') (runs.get(e.runId) ?? runs.set(e.runId, []).get(e.runId)!).push(e);
  for (const [runId, evs] of runs) {
    const runEvs = evs.filter((e) => e.stepId === null);
    assert.equal(runEvs[0]!.type, 'run.started', `${runId}: first event`);
    assert.equal(evs[0]!.type, 'run.started');
    const last = evs[evs.length - 1]!;
    assert.match(last.type, /^run\.(completed|failed|cancelled)$/, `${runId}: last event is terminal`);
    assert.equal(evs.filter((e) => /^run\.(completed|failed|cancelled)$/.test(e.type)).length, 1);
    for (let i = 1; i < runEvs.length; i++) {
      assert.ok(canMoveRun(runEvs[i - 1]!.status as RunStatus, runEvs[i]!.status as RunStatus), `${runId}: run ${runEvs[i - 1]!.status} → ${runEvs[i]!.status}`);
    }
    const steps = new Map<string, StepStatus>();
    for (const e of evs.filter((x) => x.stepId !== null)) {
      const from = steps.get(e.stepId!) ?? 'pending';
      assert.ok(canMoveStep(from, e.status as StepStatus), `${runId}/${e.stepId}: ${from} → ${e.status}`);
      steps.set(e.stepId!, e.status as StepStatus);
    }
  }
}

test('the event log: the contract sequence for a chain, a per-tenant chain of hashes, transitions only forward', async () => {
  await publish(t, { dagId: 'ev', steps: [{ id: 'a', plugin: 'noop' }, { id: 'b', plugin: 'noop' }], edges: [{ from: 'a', to: 'b' }] });
  const run = await waitForRun(t, (await startRun(t, 'ev')).runId);
  const { events } = t.server.ports;
  const evs = await events.ofRun('a', run.runId);
  assert.deepEqual(evs.map((e) => [e.type, e.stepId, e.status]), [
    ['run.started', null, 'queued'],
    ['run.updated', null, 'running'],
    ['step.updated', 'a', 'queued'],
    ['step.updated', 'a', 'running'],
    ['step.updated', 'a', 'completed'],
    ['step.updated', 'b', 'queued'],
    ['step.updated', 'b', 'running'],
    ['step.updated', 'b', 'completed'],
    ['run.completed', null, 'completed'],
  ]);
  for (const e of evs) assert.equal(e.traceId, run.traceId);
  // Every run of this file so far (once each has its terminal event): hash chain and
  // forward-only transitions.
  await until(async () => {
    const rows = await events.since('a', 0, 100_000);
    const ended = new Set(rows.filter((e) => /^run\.(completed|failed|cancelled)$/.test(e.type)).map((e) => e.runId));
    return rows.every((e) => e.runId === '' || ended.has(e.runId));
  }, 'every run of this file has ended');
  checkEvents(await events.since('a', 0, 100_000));
});
