import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { canonicalJson, sha256Hex } from '../../core/hash.js';
import { VERSION } from '../../core/runtime.js';
import { until } from '../../../test/helpers/wait.js';
import { logLines, startPool, task, type TestPool } from './test-support.js';
import type { StepResult } from './pool-types.js';

function completed(r: StepResult): Extract<StepResult, { status: 'completed' }> {
  assert.equal(r.status, 'completed', JSON.stringify(r));
  return r as Extract<StepResult, { status: 'completed' }>;
}
function failed(r: StepResult, code: string, retryable?: boolean): Exclude<StepResult, { status: 'completed' }> {
  assert.equal(r.status, 'failed', JSON.stringify(r));
  const f = r as Exclude<StepResult, { status: 'completed' }>;
  assert.equal(f.error.code, code, JSON.stringify(f.error));
  if (retryable !== undefined) assert.equal(f.error.retryable, retryable);
  return f;
}

describe('worker pool: built-ins, plugins, artifacts, logs', () => {
  let t: TestPool;
  before(async () => {
    t = await startPool({ size: 2, perWorkerConcurrency: 4 });
  });
  after(() => t.pool.close());

  test('echo round trip returns the inputs with canonical outputs JSON and hash', async () => {
    const inputs = { b: [1, 'two', { z: null, a: true }], a: 'é' };
    const r = completed(await t.pool.run(task('echo', inputs)));
    assert.deepEqual(r.outputs, inputs);
    assert.equal(r.outputsJson, canonicalJson(inputs));
    assert.equal(r.outputsHash, sha256Hex(canonicalJson(inputs)));
    assert.equal(r.logs, '');
  });

  test('noop, name@version and unknown plugins', async () => {
    assert.deepEqual(completed(await t.pool.run(task('noop'))).outputs, {});
    assert.deepEqual(completed(await t.pool.run(task(`noop@${VERSION}`))).outputs, {});
    failed(await t.pool.run(task('noop@9.9.9')), 'PLUGIN_NOT_FOUND', false);
    failed(await t.pool.run(task('nope')), 'PLUGIN_NOT_FOUND', false);
  });

  test('sleep waits with.ms; bad with.ms is INPUTS_INVALID', async () => {
    const t0 = Date.now();
    assert.deepEqual(completed(await t.pool.run(task('sleep', { ms: 60 }))).outputs, { sleptMs: 60 });
    assert.ok(Date.now() - t0 >= 55);
    failed(await t.pool.run(task('sleep', { ms: -1 })), 'INPUTS_INVALID', false);
    failed(await t.pool.run(task('sleep', { ms: 'x' })), 'INPUTS_INVALID', false);
  });

  test('fail: default code, custom code, and with.times', async () => {
    const d = failed(await t.pool.run(task('fail')), 'STEP_FAILED', true);
    assert.match(d.error.message, /attempt 1/);
    const c = failed(await t.pool.run(task('fail', { code: 'UPSTREAM_DOWN', message: 'down' })), 'UPSTREAM_DOWN', true);
    assert.equal(c.error.message, 'down');
    const base = task('fail', { times: 2 });
    failed(await t.pool.run({ ...base, attempt: 1 }), 'STEP_FAILED');
    failed(await t.pool.run({ ...base, attempt: 2 }), 'STEP_FAILED');
    assert.deepEqual(completed(await t.pool.run({ ...base, attempt: 3 })).outputs, { attempt: 3 });
    const logs = logLines(d.logs);
    assert.equal(logs.at(-1)?.level, 'error');
    assert.equal(logs.at(-1)?.code, 'STEP_FAILED');
  });

  test('artifact stores with.content for the tenant', async () => {
    const r = completed(await t.pool.run(task('artifact', { content: 'hello' }, { tenant: 'acme' })));
    assert.deepEqual(r.outputs, { hash: sha256Hex('hello'), size: 5, mediaType: 'text/plain' });
    assert.equal((await t.store.get(sha256Hex('hello')))?.toString(), 'hello');
    assert.ok(t.io.owners.get(sha256Hex('hello'))?.has('acme'));
    const j = completed(await t.pool.run(task('artifact', { content: '{}', mediaType: 'application/json' })));
    assert.equal(j.outputs.mediaType, 'application/json');
    assert.equal(t.io.types.get(sha256Hex('{}')), 'application/json');
    failed(await t.pool.run(task('artifact', {})), 'INPUTS_INVALID', false);
  });

  test('ctx carries tenant, runId, stepId and attempt', async () => {
    const tk = task('misbehave', { mode: 'inputs' }, { tenant: 't1', attempt: 4 });
    assert.deepEqual(completed(await t.pool.run(tk)).outputs, {
      tenant: 't1',
      runId: tk.runId,
      stepId: tk.stepId,
      attempt: 4,
    });
  });

  test('ctx.writeArtifact/readArtifact go through the main thread, per tenant', async () => {
    const r = completed(await t.pool.run(task('misbehave', { mode: 'write-read', content: 'round trip' }, { tenant: 'a' })));
    assert.equal(r.outputs.hash, sha256Hex('round trip'));
    assert.equal(r.outputs.back, 'round trip');
    assert.equal(r.outputs.bin, sha256Hex(new Uint8Array([0, 1, 2, 255])));
    assert.equal(t.io.types.get(sha256Hex('round trip')), 'text/x-test');
    assert.equal(t.io.types.get(r.outputs.bin as string), 'application/octet-stream');
    completed(await t.pool.run(task('misbehave', { mode: 'read', hash: r.outputs.hash }, { tenant: 'a' })));
    // Another tenant, a missing hash and a malformed one all look the same.
    for (const [tenant, hash] of [['b', r.outputs.hash], ['a', 'f'.repeat(64)], ['a', '../../etc/passwd']]) {
      failed(await t.pool.run(task('misbehave', { mode: 'read', hash }, { tenant: tenant as string })), 'ARTIFACT_NOT_FOUND', false);
    }
  });

  test('outputs must be a plain JSON object of at most 1 MiB', async () => {
    for (const mode of ['return-array', 'return-string', 'return-null', 'return-fn', 'return-nan', 'return-date', 'return-deep', 'return-cycle']) {
      failed(await t.pool.run(task('misbehave', { mode })), 'OUTPUTS_INVALID', false);
    }
    failed(await t.pool.run(task('misbehave', { mode: 'return-big' })), 'OUTPUTS_TOO_LARGE', false);
    assert.deepEqual(completed(await t.pool.run(task('misbehave', { mode: 'return-undefined' }))).outputs, {});
    const u = completed(await t.pool.run(task('misbehave', { mode: 'return-unordered' })));
    assert.equal(u.outputsJson, '{"a":{"d":[1,"é"]},"b":2}');
  });

  test('thrown values: Errors, non-Errors, StepError-likes and ctx.fail', async () => {
    const cases: Array<[string, string, boolean, RegExp]> = [
      ['throw-error', 'STEP_FAILED', true, /^plain error$/],
      ['throw-string', 'STEP_FAILED', true, /^boom$/],
      ['throw-object', 'STEP_FAILED', true, /non-Error thrown: \{"reason":"object thrown","n":1\}/],
      ['throw-undefined', 'STEP_FAILED', true, /non-Error thrown: undefined/],
      ['throw-null', 'STEP_FAILED', true, /non-Error thrown: null/],
      ['step-error-duck', 'MY_CODE', false, /custom failure/],
      ['step-error-class', 'CLASS_CODE', false, /from ctx.StepError/],
      ['ctx-fail', 'BAD_THING', false, /nope/],
    ];
    for (const [mode, code, retryable, message] of cases) {
      const f = failed(await t.pool.run(task('misbehave', { mode })), code, retryable);
      assert.match(f.error.message, message, mode);
      assert.doesNotMatch(f.error.message, /\n\s+at /, 'no stack traces');
    }
  });

  test('plugins that fail to load or have no default function', async () => {
    const b = failed(await t.pool.run(task('broken-import')), 'PLUGIN_LOAD_FAILED', false);
    assert.doesNotMatch(b.error.message, /secret|\//, 'no server paths in the step record');
    failed(await t.pool.run(task('no-default')), 'PLUGIN_INVALID', false);
  });

  test('logs are NDJSON {ts,level,msg,...fields}; reserved keys are kept; bad fields survive', async () => {
    const r = completed(await t.pool.run(task('misbehave', { mode: 'log' })));
    const lines = logLines(r.logs);
    assert.equal(lines.length, 3);
    assert.match(String(lines[0]!.ts), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual({ ...lines[0], ts: 0 }, { ts: 0, level: 'warn', msg: 'hello', n: 1 });
    assert.equal(lines[1]!.msg, 'fields cannot override');
    assert.notEqual(lines[1]!.ts, 'x');
    assert.equal(lines[2]!.fieldsError, 'fields not serialisable');
  });

  test('an attempt log is capped', async () => {
    const r = completed(await t.pool.run(task('misbehave', { mode: 'log-lots' })));
    assert.ok(r.logs.length <= 4 * 1024 * 1024 + 200, `logs ${r.logs.length}`);
    assert.match(logLines(r.logs).at(-1)!.msg as string, /log truncated/);
  });

  test('console output of plugins goes to workerOutput, not stdout', async () => {
    completed(await t.pool.run(task('misbehave', { mode: 'console' })));
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(t.output.join('').includes('hello from a plugin'));
  });

  test('a stray rejected promise does not take the worker down; late artifact writes are refused', async () => {
    const before = t.pool.stats().replaced;
    assert.deepEqual(completed(await t.pool.run(task('misbehave', { mode: 'unhandled-rejection' }))).outputs, { ok: true });
    completed(await t.pool.run(task('misbehave', { mode: 'write-late' })));
    // The refusal is printed by the plugin after its step ended, relayed from its host.
    await until(() => t.output.join('').includes('late write refused: TASK_ENDED'), 'the late write is refused');
    assert.equal(t.pool.stats().replaced, before);
  });

  test('an in-flight taskId cannot be reused; abort of an unknown task is false', async () => {
    const tk = task('sleep', { ms: 100 }, { taskId: 'dup' });
    const p = t.pool.run(tk);
    await assert.rejects(t.pool.run(tk), /already in flight/);
    completed(await p);
    completed(await t.pool.run(tk)); // free again once ended
    assert.equal(t.pool.abort('no-such-task'), false);
  });

  test('steps run concurrently per worker and queue beyond capacity', async () => {
    // A tenant of its own: one plugin host, 2 threads × 4 steps. Eight steps that hold their
    // slots until aborted fill it; four more wait.
    const holders = Array.from({ length: 8 }, (_, i) => t.pool.run(task('sleep', { ms: 600_000 }, { taskId: `hold-${i}`, tenant: 'busy' })));
    const waiting = Array.from({ length: 4 }, (_, i) => t.pool.run(task('echo', { i }, { tenant: 'busy' })));
    let done = 0;
    for (const w of waiting) void w.then(() => done++);
    await until(() => t.pool.stats().running === 8, 'eight steps running');
    let s = t.pool.stats();
    assert.deepEqual({ running: s.running, queued: s.queued, busy: s.busy }, { running: 8, queued: 4, busy: 2 });
    assert.equal(done, 0, 'nothing beyond capacity ran');
    // One slot frees: the queued steps run through it, in turn.
    t.pool.abort('hold-0');
    (await Promise.all(waiting)).forEach((r, i) => assert.deepEqual(completed(r).outputs, { i }));
    assert.equal(t.pool.stats().running, 7, 'the other holders still hold their slots');
    for (let i = 1; i < 8; i++) t.pool.abort(`hold-${i}`);
    for (const r of await Promise.all(holders)) assert.equal(r.status, 'cancelled');
    const many = await Promise.all(Array.from({ length: 500 }, (_, i) => t.pool.run(task('echo', { i }, { tenant: 'busy' }))));
    many.forEach((r, i) => assert.deepEqual(completed(r).outputs, { i }));
    s = t.pool.stats();
    assert.deepEqual({ busy: s.busy, running: s.running, queued: s.queued, replaced: s.replaced }, { busy: 0, running: 0, queued: 0, replaced: 0 });
    // Each host runs `size` threads once settled: a spare host still starting has none yet, and on
    // a starved machine a thread silent past STALL_MS gets a backup that retires when idle.
    await until(() => t.pool.stats().workers === 2 * t.pool.stats().hosts, 'each host runs `size` threads');
    s = t.pool.stats();
    assert.equal(s.capacity, s.workers * 4);
    await t.pool.start();
    const hosts = t.pool.stats().hosts;
    await t.pool.start(); // idempotent: no new host
    assert.equal(t.pool.stats().hosts, hosts);
  });
});

test('workers start from source under `npx tsx` as well as `node --import tsx`', async () => {
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  const script = fileURLToPath(new URL('../../../test/fixtures/plugins/tsx-smoke.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(`${root}node_modules/.bin/tsx`, [script], { cwd: '/', timeout: 60_000 });
  assert.equal(stdout.trim(), '{"status":"completed","outputs":{"via":"tsx"}}');
});
