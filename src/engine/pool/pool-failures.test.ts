import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPlugins } from '../plugins/plugins.js';
import { WorkerPool } from './pool.js';
import { join } from 'node:path';
import { ArtifactStore } from '../../artifacts/index.js';
import { GOOD_FIXTURES, logLines, startPool, task, tempDir, tenantArtifacts, testPoolSettings } from './test-support.js';
import type { StepResult, WorkerLostEvent } from './pool-types.js';
import { HEARTBEAT_MS, STALL_MS } from './protocol.js';

/**
 * Tests whose step busy-loops for ever: the step never returns on its own, so its promise (or
 * close()) settling at all proves the pool cut it, and the replaced-worker count says how. These
 * were wall-clock bounds (timeout + grace + 2 s), which a starved machine can break while the
 * pool does exactly what it should; a hang still fails, at this bound, instead of at the
 * runner's no-progress limit.
 */
const CUT = { timeout: 60_000 };

type Ended = Exclude<StepResult, { status: 'completed' }>;

function ended(r: StepResult, status: Ended['status'], code: string): Ended {
  assert.equal(r.status, status, JSON.stringify(r));
  const e = r as Ended;
  assert.equal(e.error.code, code, JSON.stringify(e.error));
  return e;
}

async function assertServes(pool: WorkerPool): Promise<void> {
  const r = await pool.run(task('echo', { still: 'alive' }));
  assert.equal(r.status, 'completed', JSON.stringify(r));
}

test('a busy-looping step is timed out within timeout + grace, its worker replaced, its neighbours WORKER_LOST', CUT, async () => {
  const lost: WorkerLostEvent[] = [];
  const { pool } = await startPool({ size: 1, abortGraceMs: 500, onWorkerLost: (e) => void lost.push(e) });
  try {
    const neighbour = pool.run(task('sleep', { ms: 20_000 }, { taskId: 'neighbour' }));
    const t0 = Date.now();
    const r = ended(await pool.run(task('misbehave', { mode: 'busy-loop' }, { timeoutMs: 300 })), 'timed_out', 'STEP_TIMEOUT');
    const took = Date.now() - t0;
    assert.ok(took >= 300, `timed out after ${took} ms, before its 300 ms timeout`);
    assert.equal(r.error.retryable, true);
    assert.match(logLines(r.logs).at(-1)!.msg as string, /did not stop within 500 ms/);
    const n = ended(await neighbour, 'failed', 'WORKER_LOST');
    assert.equal(n.error.retryable, true);
    await assertServes(pool);
    const s = pool.stats();
    assert.equal(s.workers, s.hosts, 'one thread per host again (the tenant\'s and a spare)');
    assert.equal(s.replaced, 1);
    assert.equal(lost.length, 1);
    assert.deepEqual(lost[0]!.tasks, ['neighbour']);
    assert.equal(lost[0]!.duringStart, false);
  } finally {
    await pool.close(1000);
  }
});

test('log lines flushed before a step blocks survive its timeout', async () => {
  const { pool } = await startPool({ size: 1, abortGraceMs: 300 });
  try {
    const r = ended(await pool.run(task('misbehave', { mode: 'log-then-spin' }, { timeoutMs: 600 })), 'timed_out', 'STEP_TIMEOUT');
    assert.ok(logLines(r.logs).some((l) => l.msg === 'before the spin'), r.logs);
    await assertServes(pool);
  } finally {
    await pool.close(1000);
  }
});

test('cancel mid-sleep ends the step promptly without replacing the worker', async () => {
  // A grace far beyond what a cooperative step needs: under a loaded CI machine a worker thread
  // can wait seconds for a core, and that is not a reason to replace it (what this test checks).
  const { pool } = await startPool({ size: 1, abortGraceMs: 60_000 });
  try {
    const tk = task('sleep', { ms: 30_000 }, { taskId: 'cancel-me' });
    const p = pool.run(tk);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    assert.equal(pool.abort('cancel-me', 'cancel'), true);
    const r = ended(await p, 'cancelled', 'CANCELLED');
    assert.equal(r.error.retryable, false);
    assert.ok(Date.now() - t0 < 30_000, 'the cancel cut the 30 s sleep short');
    assert.ok(logLines(r.logs).some((l) => l.msg === 'cancel requested, aborting'));
    assert.equal(pool.stats().replaced, 0);
    // A cooperative step past its timeout is timed out without replacing the worker either.
    ended(await pool.run(task('sleep', { ms: 30_000 }, { timeoutMs: 150 })), 'timed_out', 'STEP_TIMEOUT');
    // The plugin sees why it was aborted; the result is the abort's whatever the plugin returns.
    const tr = pool.run(task('misbehave', { mode: 'abort-reason' }, { timeoutMs: 100 }));
    ended(await tr, 'timed_out', 'STEP_TIMEOUT');
    assert.equal(pool.stats().replaced, 0);
  } finally {
    await pool.close(1000);
  }
});

test('cancelling a step that ignores its signal resolves after the grace and replaces the worker', CUT, async () => {
  const { pool } = await startPool({ size: 1, abortGraceMs: 300 });
  try {
    const p = pool.run(task('misbehave', { mode: 'busy-loop' }, { taskId: 'spin' }));
    await new Promise((r) => setTimeout(r, 200));
    pool.abort('spin');
    ended(await p, 'cancelled', 'CANCELLED');
    ended(await pool.run(task('misbehave', { mode: 'ignore-abort' }, { timeoutMs: 100 })), 'timed_out', 'STEP_TIMEOUT');
    await assertServes(pool);
    assert.equal(pool.stats().replaced, 2);
  } finally {
    await pool.close(1000);
  }
});

test('queued tasks are aborted without running; abortRun covers a whole run', async () => {
  const { pool } = await startPool({ size: 1, perWorkerConcurrency: 1 });
  try {
    const first = pool.run(task('sleep', { ms: 300 }));
    const queued = task('fail', {}, { taskId: 'queued' });
    const q = pool.run(queued);
    assert.equal(pool.stats().queued, 1);
    pool.abort('queued');
    ended(await q, 'cancelled', 'CANCELLED');
    assert.equal((await first).status, 'completed');
    const runId = task('noop').runId;
    const a = pool.run(task('sleep', { ms: 10_000 }, { runId }));
    const b = pool.run(task('sleep', { ms: 10_000 }, { runId }));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(pool.abortRun(runId), 2);
    ended(await a, 'cancelled', 'CANCELLED');
    ended(await b, 'cancelled', 'CANCELLED');
  } finally {
    await pool.close(1000);
  }
});

test('a worker that exits or throws asynchronously fails its steps with WORKER_LOST and is replaced', async () => {
  const { pool } = await startPool({ size: 1 });
  try {
    const e = ended(await pool.run(task('misbehave', { mode: 'exit' })), 'failed', 'WORKER_LOST');
    assert.equal(e.error.retryable, true);
    await assertServes(pool);
    const u = ended(await pool.run(task('misbehave', { mode: 'uncaught' })), 'failed', 'WORKER_LOST');
    assert.match(u.error.message, /crashed/);
    await assertServes(pool);
    assert.equal(pool.stats().replaced, 2);
  } finally {
    await pool.close(1000);
  }
});

test('a step that exhausts its heap (resourceLimits) fails with WORKER_LOST and the pool recovers', async () => {
  const { pool } = await startPool({ size: 1, resourceLimits: { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 16 } });
  try {
    const r = ended(await pool.run(task('misbehave', { mode: 'heap-hog' }, { timeoutMs: 60_000 })), 'failed', 'WORKER_LOST');
    assert.match(r.error.message, /out of memory/);
    await assertServes(pool);
  } finally {
    await pool.close(1000);
  }
});

test('close(): queued fail POOL_CLOSED at once, running finish, a stuck one is cut at the deadline', CUT, async () => {
  const lost: WorkerLostEvent[] = [];
  const { pool } = await startPool({ size: 2, perWorkerConcurrency: 1, onWorkerLost: (e) => void lost.push(e) });
  const ok = pool.run(task('sleep', { ms: 200 })); // on the other worker than the busy loop
  const stuck = pool.run(task('misbehave', { mode: 'busy-loop' }));
  const queued = pool.run(task('noop'));
  await new Promise((r) => setTimeout(r, 50));
  await pool.close(800);
  ended(await queued, 'failed', 'POOL_CLOSED');
  ended(await stuck, 'failed', 'POOL_CLOSED');
  assert.equal((await ok).status, 'completed');
  ended(await pool.run(task('noop')), 'failed', 'POOL_CLOSED');
  await assert.rejects(pool.start(), /closed/);
  assert.equal(pool.stats().workers, 0);
  assert.deepEqual(lost, [], 'workers ended by close() are not reported lost');
});

test('workers that cannot start make start() reject and steps fail WORKER_START_FAILED', async () => {
  const pool = new WorkerPool({
    ...testPoolSettings(),
    registry: loadPlugins([GOOD_FIXTURES]),
    artifacts: tenantArtifacts(new ArtifactStore(join(tempDir(), 'artifacts'))),
    perWorkerConcurrency: 16,
    resourceLimits: { maxOldGenerationSizeMb: 1, maxYoungGenerationSizeMb: 1 },
    workerOutput: () => undefined,
  });
  try {
    const r = pool.run(task('noop'));
    await assert.rejects(pool.start(), /fail to start/);
    const f = ended(await r, 'failed', 'WORKER_START_FAILED');
    assert.equal(f.error.retryable, true);
    assert.doesNotMatch(f.error.message, /memory limit/, 'operator detail stays out of the step record');
    ended(await pool.run(task('noop')), 'failed', 'WORKER_START_FAILED');
  } finally {
    await pool.close(500);
  }
});

test('messages a plugin forges on its thread\'s port are checked again by the server: outputs, logs, media types, bytes', async () => {
  const { pool, io } = await startPool({ size: 1, maxOutputBytes: 64 * 1024, maxLogBytes: 256 * 1024 });
  try {
    const big = await pool.run(task('misbehave', { mode: 'forge', forge: 'outputs' }));
    assert.equal(big.status, 'failed', 'forged 2 MiB outputs were accepted');
    assert.deepEqual([(big as Ended).error.code, (big as Ended).error.retryable], ['OUTPUTS_TOO_LARGE', false]);
    const logs = await pool.run(task('misbehave', { mode: 'forge', forge: 'logs' }));
    assert.equal(logs.status, 'completed', JSON.stringify({ ...logs, logs: logs.logs.slice(0, 300) }));
    assert.ok(logs.logs.length <= 256 * 1024 + 64 * 1024, `${logs.logs.length} characters of log kept`);
    for (const forge of ['media', 'bytes']) {
      const r = await pool.run(task('misbehave', { mode: 'forge', forge }));
      assert.equal(r.status, 'completed', JSON.stringify(r));
      assert.deepEqual((r as { outputs: unknown }).outputs, { refused: 'ARTIFACT_INVALID' }, forge);
    }
    assert.equal([...io.types.values()].filter((t) => /\r|\n/.test(t)).length, 0, 'no media type with a line break was stored');
    await assertServes(pool);
  } finally {
    await pool.close(1000);
  }
});

test('a forged Done whose outputs are not a JSON object, or a forged Failed whose error is not a record, fails its step (the server does not throw)', async () => {
  const { pool } = await startPool({ size: 1 });
  try {
    const json = ended(await pool.run(task('misbehave', { mode: 'forge', forge: 'json' })), 'failed', 'OUTPUTS_INVALID');
    assert.equal(json.error.retryable, false);
    const hash = ended(await pool.run(task('misbehave', { mode: 'forge', forge: 'hash' })), 'failed', 'OUTPUTS_INVALID');
    assert.equal(hash.error.retryable, false);
    const error = ended(await pool.run(task('misbehave', { mode: 'forge', forge: 'error' })), 'failed', 'STEP_FAILED');
    assert.deepEqual([typeof error.error.message, error.error.retryable], ['string', true]);
    assert.equal(pool.stats().replaced, 0);
    await assertServes(pool);
  } finally {
    await pool.close(1000);
  }
});

test('an idle thread is silent (no heartbeats to wake the server); one whose step blocks its loop still gets a backup', CUT, async () => {
  const { pool } = await startPool({ size: 1, perWorkerConcurrency: 1 });
  try {
    await assertServes(pool);
    // The pool's own view of its thread (private: this is the property under test).
    type Slot = { ready: boolean; lastSeen: number };
    const ready = () => [...(pool as unknown as { hosts: { hosts: Set<{ slots: Slot[] }> } }).hosts.hosts].flatMap((h) => h.slots.filter((s) => s.ready));
    await new Promise((r) => setTimeout(r, 100));
    const idle = ready().map((s) => [s, s.lastSeen] as const);
    await new Promise((r) => setTimeout(r, 4 * HEARTBEAT_MS));
    for (const [slot, seen] of idle) assert.equal(slot.lastSeen, seen, 'an idle thread sent nothing');
    // Idle far past STALL_MS, then a step that blocks the thread: the pool still sees the stall
    // (silence counted from the step) and starts a backup thread, which takes the next step.
    await new Promise((r) => setTimeout(r, STALL_MS));
    const before = pool.stats().workers; // the tenant's host, and the pool's spare host
    const stuck = pool.run(task('misbehave', { mode: 'busy-loop' }, { taskId: 'spin', timeoutMs: 60_000 }));
    await assertServes(pool);
    assert.equal(pool.stats().workers, before + 1, 'a backup thread took the step');
    pool.abort('spin');
    ended(await stuck, 'cancelled', 'CANCELLED');
  } finally {
    await pool.close(1000);
  }
});
