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
import { until } from '../helpers/wait.js';
import { assertAlive, assertNoInternals } from './support.js';

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

/** `orchestrator_workers{state="live"}` of a metrics scrape. */
function liveWorkers(scrape: { status: number; text: string }): number {
  assert.equal(scrape.status, 200, scrape.text.slice(0, 200));
  return Number(/^orchestrator_workers\{state="live"\} (\d+)/m.exec(scrape.text)?.[1] ?? 0);
}

async function hostileRun(mode: string, timeoutMs: number): Promise<string> {
  const dagId = `h-${mode}`.toLowerCase();
  await publish(t, { dagId, steps: [{ id: 'x', plugin: 'hostile', with: { mode }, timeoutMs }] }, EVIL);
  const r = await t.req('POST', '/runs', { tenant: EVIL, body: { dagId } });
  assert.equal(r.status, 201, r.text);
  return r.body.runId;
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
      // Failed by what it threw (not STEP_TIMEOUT, not WORKER_LOST), on its one attempt.
      assert.equal(x.errorCode, 'STEP_FAILED', `${mode}: ${x.errorCode} ${x.errorMessage}`);
      assert.equal(x.attempts.length, 1, mode);
    }
    const took = Date.now() - started;
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

  test('a busy loop and an Atomics.wait forever: the blocked workers are backed by fresh ones, another tenant\'s runs complete while they stay blocked, and a cancel ends each hostile step within the grace', async () => {
    // Both workers up, so that least-loaded dispatch puts hostile steps on each of them.
    assert.equal((await t.req('POST', '/admin/warm', { tenant: null, body: {} })).status, 200);
    const t0 = Date.now();
    // The hostile steps hold their workers until they are cancelled (their timeout is far off).
    const hogs = await Promise.all(['busy-loop', 'atomics-wait', 'busy-loop', 'atomics-wait'].map(async (mode) => ({ mode, id: await hostileRun(mode, 600_000) })));
    for (const h of hogs) await waitUntil(t, h.id, (r) => stepOf(r, 'x').status === 'running', EVIL);
    // Both workers are now blocked; once that shows (no heartbeat for a second), fresh workers
    // back them (two more live workers).
    await until(async () => liveWorkers(await t.req('GET', '/admin/metrics', { tenant: null })) >= 4, 'fresh workers back the blocked ones', 30_000);
    const calm: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await t.req('POST', '/runs', { tenant: CALM, body: { dagId: 'calm' } });
      assert.equal(r.status, 201, r.text);
      calm.push(r.body.runId);
    }
    for (const id of calm) assert.equal((await waitForRun(t, id, { tenant: CALM, timeoutMs: 30_000 })).status, 'completed', 'the other tenant\'s run completed');
    for (const h of hogs) {
      assert.equal((await t.req('GET', `/runs/${h.id}`, { tenant: EVIL })).body.status, 'running', `${h.mode}: still holding its worker`);
    }
    // Cancelled together (two share each blocked worker, which is abandoned after the grace).
    for (const h of hogs) assert.equal((await t.req('POST', `/runs/${h.id}:cancel`, { tenant: EVIL, body: {} })).status, 202, h.mode);
    const cancelledAt = Date.now();
    const ended = [];
    for (const h of hogs) {
      const run = await waitForRun(t, h.id, { tenant: EVIL, timeoutMs: 30_000 });
      const x = stepOf(run, 'x');
      assert.equal(run.status, 'cancelled', h.mode);
      assert.equal(x.status, 'cancelled', `${h.mode}: ${x.errorCode} ${x.errorMessage}`);
      const ms = Date.parse(x.endedUtc) - cancelledAt;
      // The contract: ended within 5 s whether or not its code cooperates (slack for a loaded machine).
      assert.ok(ms < 5000 + 5000, `${h.mode}: cancelled within the 5 s grace (${ms} ms)`);
      ended.push(`${h.mode} → cancelled ${ms} ms after the cancels`);
    }
    console.log(`plugins: ${ended.join('; ')}; meanwhile ${calm.length} runs of another tenant completed (${Date.now() - t0} ms in all)`);
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
