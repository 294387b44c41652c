/**
 * Hostile world, faults in plugins: steps whose code busy-loops, blocks its thread for good
 * (Atomics.wait), exhausts its heap, or throws (and returns) values no one expects — strings,
 * numbers, null, undefined, symbols, BigInts, objects whose every conversion throws, Proxies
 * that throw on any access. Each such step fails with a clear error code; the server, its
 * worker pool and the other tenants' runs carry on.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { publish, stepOf, waitForRun, waitUntil } from '../runs/helpers.js';
import { assertAlive, assertNoInternals, sleep } from './support.js';

const PLUGINS = join(import.meta.dirname, '..', 'fixtures', 'plugins', 'hostile');
const EVIL = 'evil';
const CALM = 'calm';

let t: TestServer;

before(async () => {
  t = await startTestServer(['--allow-unsigned', '--plugins-dir', PLUGINS, '--workers', '2', '--worker-heap-mb', '48', '--rate-limit', '1000']);
  await publish(t, { dagId: 'calm', steps: [{ id: 'nap', plugin: 'sleep', with: { ms: 150 } }, { id: 'say', plugin: 'echo', with: { hi: 1 } }], edges: [{ from: 'nap', to: 'say' }] }, CALM);
});
after(() => t.stop());

const CODE_RE = /^[A-Z][A-Z0-9_]{0,63}$/;

async function hostileRun(mode: string, timeoutMs: number): Promise<string> {
  const dagId = `h-${mode}`.toLowerCase();
  await publish(t, { dagId, steps: [{ id: 'x', plugin: 'hostile', with: { mode }, timeoutMs }] }, EVIL);
  const r = await t.req('POST', '/runs', { tenant: EVIL, body: { dagId } });
  assert.equal(r.status, 201, r.text);
  return r.body.runId;
}

/** Starts calm runs for tenant CALM every `everyMs` until `stop` resolves; returns their ids. */
async function calmTraffic(stop: Promise<unknown>, everyMs: number): Promise<string[]> {
  const ids: string[] = [];
  let done = false;
  void stop.then(() => (done = true));
  while (!done) {
    const r = await t.req('POST', '/runs', { tenant: CALM, body: { dagId: 'calm' } });
    assert.equal(r.status, 201, r.text);
    ids.push(r.body.runId);
    await new Promise((res) => setTimeout(res, everyMs));
  }
  return ids;
}

function assertCleanError(step: any, what: string): void {
  assert.match(step.errorCode ?? '', CODE_RE, `${what}: a clear code (${step.errorCode})`);
  assert.equal(typeof step.errorMessage, 'string', `${what}: a message`);
  assert.ok(step.errorMessage.length <= 2048, `${what}: a bounded message`);
  assertNoInternals(step.errorMessage, what);
}

describe('hostile plugins fail their own step with a clear code; the server and other runs carry on', () => {
  test('thrown non-Error values (string, number, NaN, null, undefined, symbol, BigInt, symbol-ish object, Proxy, trapped Error, function, cycle) fail the step promptly with STEP_FAILED', async () => {
    const modes = [
      'throw-string', 'throw-empty-string', 'throw-number', 'throw-nan', 'throw-null', 'throw-undefined', 'throw-symbol', 'throw-bigint',
      'throw-symbolish', 'throw-proxy', 'reject-proxy', 'throw-error-traps', 'throw-function', 'throw-cycle',
    ];
    const started = Date.now();
    const runs = await Promise.all(modes.map(async (m) => ({ mode: m, runId: await hostileRun(m, 30_000) })));
    for (const { mode, runId } of runs) {
      const run = await waitForRun(t, runId, { tenant: EVIL, timeoutMs: 20_000 });
      const x = stepOf(run, 'x');
      assert.equal(run.status, 'failed', `${mode}: the run fails`);
      assertCleanError(x, mode);
      assert.equal(x.errorCode, 'STEP_FAILED', `${mode}: ${x.errorCode} ${x.errorMessage}`);
    }
    const took = Date.now() - started;
    assert.ok(took < 15_000, `all failed promptly, not by a timeout or a lost worker (${took} ms)`);
    console.log(`plugins: ${modes.length} kinds of thrown values, each STEP_FAILED, in ${took} ms`);
  });

  test('hostile outputs (a throwing Proxy, a trapping getter, a symbol-ish value) and a poisoned log call fail the step cleanly', async () => {
    for (const mode of ['return-proxy', 'return-getter-trap', 'return-symbolish', 'log-poison', 'throw-fake-steperror']) {
      const run = await waitForRun(t, await hostileRun(mode, 30_000), { tenant: EVIL, timeoutMs: 20_000 });
      const x = stepOf(run, 'x');
      assert.equal(run.status, 'failed', mode);
      assertCleanError(x, mode);
      assert.notEqual(x.errorCode, 'WORKER_LOST', `${mode}: the worker survived`);
      assert.notEqual(x.errorCode, 'STEP_TIMEOUT', `${mode}: failed at once`);
    }
  });

  test('a floating rejection with a poisoned Proxy does not take the worker (or its other steps) down', async () => {
    const neighbours = await Promise.all([0, 1, 2, 3].map(() => t.req('POST', '/runs', { tenant: CALM, body: { dagId: 'calm' } })));
    const run = await waitForRun(t, await hostileRun('floating-proxy-rejection', 30_000), { tenant: EVIL, timeoutMs: 20_000 });
    assert.equal(run.status, 'completed', JSON.stringify(stepOf(run, 'x')));
    for (const n of neighbours) assert.equal((await waitForRun(t, n.body.runId, { tenant: CALM })).status, 'completed');
  });

  test('a busy loop and an Atomics.wait forever: each step fails STEP_TIMEOUT within timeout + grace, the blocked workers are backed by fresh ones, another tenant\'s runs complete meanwhile', async () => {
    // Both workers up, so that least-loaded dispatch puts hostile steps on each of them.
    assert.equal((await t.req('POST', '/admin/warm', { tenant: null, body: {} })).status, 200);
    const t0 = Date.now();
    const hogs = await Promise.all(['busy-loop', 'atomics-wait', 'busy-loop', 'atomics-wait'].map(async (mode) => ({ mode, id: await hostileRun(mode, 1000) })));
    // Both workers are now blocked; once that shows (no heartbeat for 1 s) they get no new steps.
    for (const h of hogs) await waitUntil(t, h.id, (r) => stepOf(r, 'x').status === 'running', EVIL);
    await sleep(1300);
    let stop!: () => void;
    const calm = calmTraffic(new Promise<void>((r) => (stop = r)), 100);
    const ended = [];
    for (const h of hogs) {
      const run = await waitForRun(t, h.id, { tenant: EVIL, timeoutMs: 30_000 });
      const x = stepOf(run, 'x');
      assert.equal(run.status, 'failed', h.mode);
      assertCleanError(x, h.mode);
      assert.equal(x.errorCode, 'STEP_TIMEOUT', `${h.mode}: ${x.errorMessage}`);
      const ms = Date.parse(x.endedUtc) - Date.parse(x.startedUtc);
      assert.ok(ms < 1000 + 5000 + 3000, `${h.mode}: failed within timeout + 5 s grace (${ms} ms)`);
      ended.push(`${h.mode} → ${x.errorCode} after ${ms} ms`);
    }
    await sleep(500);
    stop();
    const calmIds = await calm;
    const outcomes: Record<string, number> = {};
    const waits: number[] = [];
    for (const id of calmIds) {
      const r = await waitForRun(t, id, { tenant: CALM, timeoutMs: 30_000 });
      outcomes[r.status] = (outcomes[r.status] ?? 0) + 1;
      if (r.status !== 'completed') console.log(`calm run ${id} ${r.status}: ${JSON.stringify(r.steps.map((s: any) => [s.stepId, s.status, s.errorCode, s.errorMessage, s.startedUtc, s.endedUtc]))}`);
      waits.push(Date.parse(r.endedUtc) - Date.parse(r.startedUtc));
    }
    console.log(`plugins: ${ended.join('; ')}; meanwhile ${calmIds.length} runs of another tenant: ${JSON.stringify(outcomes)}, run time ${Math.min(...waits)}-${Math.max(...waits)} ms (${Date.now() - t0} ms in all)`);
    assert.deepEqual(Object.keys(outcomes), ['completed'], 'every run of the other tenant completed');
    // Both workers were blocked, yet the first runs of the other tenant did not wait for the
    // hostile steps to end: stalled workers are backed by fresh ones.
    const hogsEnded = Math.min(...(await Promise.all(hogs.map(async (h) => Date.parse((await t.req('GET', `/runs/${h.id}`, { tenant: EVIL })).body.endedUtc)))));
    const firstCalm = await Promise.all(calmIds.slice(0, 5).map(async (id) => Date.parse((await t.req('GET', `/runs/${id}`, { tenant: CALM })).body.endedUtc)));
    assert.ok(Math.max(...firstCalm) < hogsEnded, 'the other tenant\'s first runs completed while the hostile steps still held their workers');
    await assertAlive(t, 'after hung plugins');
  });

  test('heap exhaustion (--worker-heap-mb 48): the step fails WORKER_LOST "ran out of memory", the worker is replaced, new runs complete', async () => {
    const run = await waitForRun(t, await hostileRun('heap-hog', 60_000), { tenant: EVIL, timeoutMs: 40_000 });
    const x = stepOf(run, 'x');
    assert.equal(run.status, 'failed');
    assertCleanError(x, 'heap-hog');
    assert.equal(x.errorCode, 'WORKER_LOST');
    assert.match(x.errorMessage, /out of memory/);
    const after = await Promise.all([0, 1, 2].map(() => t.req('POST', '/runs', { tenant: CALM, body: { dagId: 'calm' } })));
    for (const a of after) assert.equal((await waitForRun(t, a.body.runId, { tenant: CALM })).status, 'completed');
    console.log(`plugins: heap-hog → ${x.errorCode} (${x.errorMessage}) after ${Date.parse(x.endedUtc) - Date.parse(x.startedUtc)} ms`);
    await assertAlive(t, 'after heap exhaustion');
  });
});
