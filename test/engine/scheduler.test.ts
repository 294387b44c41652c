/**
 * The scheduler without HTTP: a real SQLite store and a fake pool the test completes by hand.
 * Group commit (one turn, one transaction), nothing dispatched or published before its commit,
 * a failed commit retried with nothing lost, recovery of an interrupted attempt, and the event
 * log's canonical form and hash chain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../helpers/wait.js';
import fc from 'fast-check';
import pino from 'pino';
import { canonicalJson, sha256Hex, uuidv7 } from '../../src/core/index.js';
import { dagCanonicalJson, dagHash, pinPlugins, pinsJson, semverKey } from '../../src/dags/index.js';
import { loadPlugins } from '../../src/engine/plugins/plugins.js';
import { PlanCache } from '../../src/engine/scheduler/plans.js';
import { Scheduler } from '../../src/engine/scheduler/scheduler.js';
import { SERVE_DEFAULTS, schedulerLimits } from '../../src/cli/config.js';
import type { StepResult, StepTask } from '../../src/engine/pool/pool-types.js';
import { SqlitePorts, Store, eventCanonicalJson, eventHash, eventView, type CommitBatch, type EventRow, type Ports, type RunRow } from '../../src/store/index.js';

const EMPTY = sha256Hex('{}');
const done = (): StepResult => ({ status: 'completed', outputs: {}, outputsJson: '{}', outputsHash: EMPTY, logs: '' });

class FakePool {
  pending: Array<{ task: StepTask; resolve: (r: StepResult) => void; seenStatus: string | undefined; attemptRow: boolean }> = [];
  constructor(private readonly store: Store) {}
  run(task: StepTask): Promise<StepResult> {
    // What is durable at the moment of dispatch.
    const row = this.store.runs.step(task.runId, task.stepId);
    const att = this.store.runs.attempt(task.runId, task.stepId, task.attempt);
    return new Promise((resolve) => this.pending.push({ task, resolve, seenStatus: row?.status, attemptRow: att !== undefined }));
  }
  abort(): boolean {
    return false;
  }
  completeAll(r: () => StepResult = done): number {
    const all = this.pending.splice(0);
    for (const p of all) p.resolve(r());
    return all.length;
  }
}

/**
 * The SQLite ports with a real store underneath, counting group commits; `failNext` makes the
 * next ones write their batch and then fail (rolled back, like a disk error at commit); with
 * `latencyMs` each commit starts that much later (a network round trip), so the scheduler's turns
 * go on while it is in flight. Records how many commits were ever in flight at once.
 */
class TestPorts extends SqlitePorts {
  commits = 0;
  failNext = 0;
  latencyMs = 0;
  /** Writers (group commits, and transactions of their own) in flight now, and at most. */
  inFlight = 0;
  maxInFlight = 0;
  private own = false;
  private enter(): void {
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
  }
  override transaction<T>(fn: (tx: Ports) => Promise<T>): Promise<T> {
    if (this.own) return super.transaction(fn);
    this.enter();
    return super.transaction(fn).finally(() => this.inFlight--);
  }
  override async commitBatch(b: CommitBatch): Promise<EventRow[]> {
    this.commits++;
    this.enter();
    try {
      if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
      this.own = true;
      let p: Promise<EventRow[]>;
      try {
        p = this.failNext > 0
          ? (this.failNext--, this.transaction(async (tx) => {
              await tx.writeBatch(b);
              throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
            }))
          : super.commitBatch(b);
      } finally {
        this.own = false;
      }
      return await p;
    } finally {
      this.inFlight--;
    }
  }
}

function setup(doc: Record<string, unknown>, pinsOverride?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sched-unit-'));
  const store = Store.open({ dataDir: dir, lock: false });
  const ports = new TestPorts(store);
  const registry = loadPlugins([]);
  const pluginPins = pinsOverride ?? pinsJson(pinPlugins(doc as never, (ref) => registry.resolveFor('t', ref))!);
  const version = { tenant: 't', dagId: doc.dagId as string, version: '1.0.0', versionKey: semverKey('1.0.0'), hash: dagHash(doc as never), definition: dagCanonicalJson(doc as never), signature: null, signedBy: '[]', pluginPins, createdMs: Date.now() };
  store.dags.insert(version);
  const plans = new PlanCache();
  const make = (pool: FakePool) => new Scheduler({ ports, pool, plugins: registry, logs: { put: async (s) => ({ hash: sha256Hex(s), size: s.length }) }, plans, logger: pino({ level: 'silent' }), limits: { ...schedulerLimits(SERVE_DEFAULTS), maxInFlightSteps: 100, maxStepsPerTenant: 100, reservedSteps: 0 } });
  const start = async (sched: Scheduler): Promise<RunRow> => {
    const now = Date.now();
    const row: RunRow = { runId: uuidv7(now), tenant: 't', dagId: version.dagId, dagVersion: '1.0.0', dagHash: version.hash, runToken: null, traceId: 'a'.repeat(32), status: 'queued', inputs: '{}', inputsHash: EMPTY, outputsHash: null, createdMs: now, startedMs: now, endedMs: null, cancelReason: null };
    const live = sched.newRun(row, plans.forRow(version), plans.pinsFor(version));
    const ev = await ports.transaction((tx) => sched.insertRun(tx, row, live));
    sched.admitted([live], [ev]);
    return row;
  };
  return {
    store, ports, make, start,
    txCount: () => ports.commits,
    failNextCommit: () => void (ports.failNext = 1),
    /** Every group commit from now on waits this long before it starts (a network round trip). */
    latency: (ms: number) => void (ports.latencyMs = ms),
    cleanup: () => { store.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

const tick = () => new Promise((r) => setImmediate(r));
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick();
}

test('one turn, one transaction: nothing reaches the pool or listeners before its commit', async () => {
  const leaves = ['l1', 'l2', 'l3', 'l4', 'l5'];
  const env = setup({ dagId: 'fan', version: '1.0.0', steps: [{ id: 'root', plugin: 'echo' }, ...leaves.map((id) => ({ id, plugin: 'echo' }))], edges: leaves.map((to) => ({ from: 'root', to })) });
  const pool = new FakePool(env.store);
  const sched = env.make(pool);
  const batches: EventRow[][] = [];
  sched.events.on('committed', (rows) => {
    // Published only once durable: every row is already in the table.
    const stored = env.store.events.since('t', rows[0]!.seq - 1, rows.length);
    assert.deepEqual(stored.map((r) => r.hash), rows.map((r) => r.hash));
    batches.push(rows);
  });
  const run = await env.start(sched);
  await settle();
  assert.equal(pool.pending.length, 1);
  assert.equal(pool.pending[0]!.seenStatus, 'running', 'the step was durable as running before dispatch');
  assert.ok(pool.pending[0]!.attemptRow, 'its attempt row too');
  pool.completeAll();
  await settle();
  assert.equal(pool.pending.length, 5);
  const before = env.txCount();
  const n = pool.completeAll();
  assert.equal(n, 5);
  await settle();
  assert.equal(env.txCount() - before, 1, 'five completions, one transaction');
  const last = batches.at(-1)!;
  assert.deepEqual(last.map((e) => e.status).sort(), ['completed', 'completed', 'completed', 'completed', 'completed', 'completed']);
  assert.equal(last.at(-1)!.type, 'run.completed');
  assert.equal(env.store.runs.getForTenant('t', run.runId)!.status, 'completed');
  env.cleanup();
});

test('a failed commit publishes nothing and dispatches nothing; the retry loses nothing', async () => {
  const env = setup({ dagId: 'chain', version: '1.0.0', steps: [{ id: 'a', plugin: 'echo' }, { id: 'b', plugin: 'echo' }], edges: [{ from: 'a', to: 'b' }] });
  const pool = new FakePool(env.store);
  const sched = env.make(pool);
  const published: EventRow[] = [];
  sched.events.on('committed', (rows) => published.push(...rows));
  const run = await env.start(sched);
  await settle();
  const seen = published.length;
  env.failNextCommit();
  pool.completeAll();
  await tick();
  await tick();
  assert.equal(published.length, seen, 'nothing published for the failed commit');
  assert.equal(pool.pending.length, 0, 'b not dispatched before its state is durable');
  await until(() => pool.pending.length === 1, 'b dispatched after the retried commit');
  pool.completeAll();
  await settle();
  const rows = env.store.events.ofRun('t', run.runId);
  assert.deepEqual(rows.map((e) => `${e.stepId ?? 'run'}:${e.status}`), [
    'run:queued', 'run:running', 'a:queued', 'a:running', 'a:completed', 'b:queued', 'b:running', 'b:completed', 'run:completed',
  ]);
  assert.deepEqual(published.map((e) => e.seq), rows.map((e) => e.seq));
  env.cleanup();
});

test('recovery without HTTP: an attempt interrupted by a crash is recorded ORCHESTRATOR_RESTART and retried', async () => {
  const env = setup({ dagId: 'r', version: '1.0.0', steps: [{ id: 'a', plugin: 'echo', retries: { max: 1, backoffMs: 1 } }, { id: 'b', plugin: 'echo' }], edges: [{ from: 'a', to: 'b' }] });
  const first = env.make(new FakePool(env.store));
  const run = await env.start(first);
  await settle();
  assert.equal(env.store.runs.step(run.runId, 'a')!.status, 'running');
  // "Crash": the first scheduler is abandoned with its step in flight.
  const pool = new FakePool(env.store);
  const second = env.make(pool);
  assert.equal(await second.recover(), 1);
  const a = env.store.runs.attemptsOfStep(run.runId, 'a');
  assert.deepEqual(a.map((x) => [x.attempt, x.status, x.errorCode]), [[1, 'failed', 'ORCHESTRATOR_RESTART']]);
  assert.equal(env.store.runs.step(run.runId, 'a')!.status, 'retrying');
  await new Promise((r) => setTimeout(r, 20));
  await settle();
  pool.completeAll();
  await settle();
  pool.completeAll();
  await settle();
  assert.equal(env.store.runs.getForTenant('t', run.runId)!.status, 'completed');
  assert.deepEqual(env.store.runs.attemptsOfStep(run.runId, 'a').map((x) => x.status), ['failed', 'completed']);
  env.cleanup();
});

test('events: the fast canonical form equals RFC 8785, and the hash chain links every row', () => {
  const str = fc.string({ unit: 'binary', maxLength: 20 });
  fc.assert(
    fc.property(str, str, fc.option(str, { nil: null }), fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: 0, max: 4e12 }), fc.option(str.filter((x) => x !== ''), { nil: null }), (a, b, stepId, seq, ts, scheduleId) => {
      // scheduleId: the events of a run a schedule started carry it.
      const e = { tenant: a, seq, type: 'step.updated' as const, dagId: b, runId: a + b, stepId, status: b, tsMs: ts, traceId: a, scheduleId };
      return eventCanonicalJson(e) === canonicalJson(eventView({ ...e, prevHash: '', hash: '' }));
    }),
  );
  const env = setup({ dagId: 'x', version: '1.0.0', steps: [{ id: 'a', plugin: 'echo' }] });
  const mk = (tenant: string, i: number) => ({ tenant, type: 'step.updated' as const, dagId: 'd', runId: 'r', stepId: `s${i}`, status: 'queued', tsMs: 1_700_000_000_000 + i, traceId: 'f'.repeat(32) });
  env.store.tx(() => env.store.events.appendMany(Array.from({ length: 70 }, (_, i) => mk(i % 3 === 0 ? 'u' : 'v', i))));
  assert.throws(() => env.store.tx(() => {
    env.store.events.append(mk('u', 100));
    throw new Error('rolled back');
  }));
  env.store.events.invalidate();
  env.store.tx(() => env.store.events.append(mk('u', 101)));
  for (const tenant of ['u', 'v']) {
    let prev = '';
    const rows = env.store.events.since(tenant, 0, 1000);
    rows.forEach((r, i) => {
      assert.equal(r.seq, i + 1);
      assert.equal(r.prevHash, prev);
      assert.equal(r.hash, sha256Hex(prev + eventCanonicalJson(r)));
      assert.equal(r.hash, eventHash(prev, r));
      prev = r.hash;
    });
    assert.equal(rows.length, tenant === 'u' ? 25 : 46);
  }
  env.cleanup();
});

test('a step whose pinned plugin is not installed fails PLUGIN_UNAVAILABLE without reaching the pool; the pool gets the resolved plugin', async () => {
  const missing = pinsJson({ tool: { name: 'tool', version: '1.0.0', contentHash: 'f'.repeat(64), builtin: false } });
  const env = setup({ dagId: 'p', version: '1.0.0', steps: [{ id: 'a', plugin: 'echo' }, { id: 'b', plugin: 'tool' }], edges: [{ from: 'a', to: 'b' }] }, pinsJson({
    echo: { name: 'echo', version: '0.0.0', contentHash: 'x', builtin: true },
    ...JSON.parse(missing),
  }));
  const pool = new FakePool(env.store);
  const sched = env.make(pool);
  const row = await env.start(sched);
  await settle();
  assert.equal(pool.pending.length, 1);
  const handed = pool.pending[0]!.task.plugin;
  assert.ok(typeof handed === 'object' && handed.builtin && handed.name === 'echo', 'the pool is handed a resolved plugin, not a name');
  pool.completeAll();
  for (let i = 0; i < 50 && env.store.runs.getForTenant('t', row.runId)?.status !== 'failed'; i++) await settle();
  assert.equal(pool.pending.length, 0, 'the step never reached the pool');
  const b = env.store.runs.step(row.runId, 'b')!;
  assert.equal(b.status, 'failed');
  assert.equal(b.errorCode, 'PLUGIN_UNAVAILABLE');
  assert.match(b.errorMessage!, /tool@1\.0\.0 \(pinned by the DAG version\) is not installed/);
  assert.equal(b.retryable, 0);
  assert.equal(env.store.runs.getForTenant('t', row.runId)!.status, 'failed');
  await sched.drain(1000);
  env.cleanup();
});

/** Each step's and the run's event statuses, in seq order, and whether the seqs have no gap. */
function history(store: Store, runId: string): { lines: string[]; contiguous: boolean } {
  const rows = store.events.ofRun('t', runId);
  return { lines: rows.map((e) => `${e.stepId ?? 'run'}:${e.status}`), contiguous: rows.every((e, i) => i === 0 || e.seq === rows[i - 1]!.seq + 1) };
}

test('a slow flush (a round trip): one flush in flight, the next batch builds meanwhile; nothing dispatched before its commit, the run completes', async () => {
  const leaves = Array.from({ length: 8 }, (_, i) => `l${i}`);
  const env = setup({ dagId: 'slow', version: '1.0.0', steps: [{ id: 'root', plugin: 'echo' }, ...leaves.map((id) => ({ id, plugin: 'echo' })), { id: 'sink', plugin: 'echo' }], edges: [...leaves.map((to) => ({ from: 'root', to })), ...leaves.map((from) => ({ from, to: 'sink' }))] });
  env.latency(15);
  const pool = new FakePool(env.store);
  const sched = env.make(pool);
  const published: EventRow[] = [];
  sched.events.on('committed', (rows) => published.push(...rows));
  const run = await env.start(sched);
  await until(() => pool.pending.length === 1, 'root dispatched');
  pool.completeAll();
  await until(() => pool.pending.length === 8, 'the leaves dispatched');
  // The leaves complete one by one while flushes are in flight: each turn builds on the next batch.
  for (const p of pool.pending.splice(0)) {
    p.resolve(done());
    await tick();
  }
  await until(() => pool.pending.length === 1, 'sink dispatched');
  assert.equal(pool.pending[0]!.seenStatus, 'running', 'durable as running before dispatch');
  pool.completeAll();
  await until(() => env.store.runs.getForTenant('t', run.runId)?.status === 'completed', 'the run completed');
  await sched.drain(1000);
  assert.equal(env.ports.maxInFlight, 1, 'two flushes never overlapped');
  assert.ok(env.txCount() < 1 + 2 + 8 * 2 + 3, `completions shared flushes (${env.txCount()} commits)`);
  const h = history(env.store, run.runId);
  assert.ok(h.contiguous);
  assert.equal(h.lines.filter((l) => l.endsWith(':completed')).length, 11, 'every step once, and the run');
  assert.equal(h.lines.at(-1), 'run:completed');
  assert.deepEqual(published.map((e) => e.seq), env.store.events.since('t', 0, 1000).map((e) => e.seq), 'published once each, in seq order');
  env.cleanup();
});

test('a slow flush that rejects once: its batch goes back in front of what built meanwhile; nothing lost, nothing twice', async () => {
  const env = setup({ dagId: 'flaky', version: '1.0.0', steps: [{ id: 'a', plugin: 'echo' }, { id: 'b', plugin: 'echo' }, { id: 'c', plugin: 'echo' }], edges: [{ from: 'a', to: 'c' }, { from: 'b', to: 'c' }] });
  env.latency(10);
  const pool = new FakePool(env.store);
  const sched = env.make(pool);
  const published: EventRow[] = [];
  sched.events.on('committed', (rows) => published.push(...rows));
  const run = await env.start(sched);
  await until(() => pool.pending.length === 2, 'a and b dispatched');
  env.failNextCommit();
  // a's completion goes into the flush that fails; b's builds the next batch while it is in flight.
  pool.pending.shift()!.resolve(done());
  await tick();
  await tick();
  pool.pending.shift()!.resolve(done());
  await until(() => pool.pending.length === 1, 'c dispatched after the retried commit');
  assert.equal(pool.pending[0]!.seenStatus, 'running');
  pool.completeAll();
  await until(() => env.store.runs.getForTenant('t', run.runId)?.status === 'completed', 'the run completed');
  await sched.drain(1000);
  assert.equal(env.ports.maxInFlight, 1);
  const h = history(env.store, run.runId);
  assert.ok(h.contiguous);
  assert.deepEqual(h.lines, [
    'run:queued', 'run:running', 'a:queued', 'b:queued', 'a:running', 'b:running', 'a:completed', 'b:completed', 'c:queued', 'c:running', 'c:completed', 'run:completed',
  ]);
  assert.deepEqual(published.map((e) => e.seq), env.store.events.since('t', 0, 100).map((e) => e.seq), 'the failed flush published nothing; the retry each once');
  env.cleanup();
});

test('a cancel in a request transaction waits for the flush in flight and writes the pending batch with it; drain waits for the last flush', async () => {
  const env = setup({ dagId: 'cx', version: '1.0.0', steps: [{ id: 'a', plugin: 'echo' }, { id: 'b', plugin: 'echo' }], edges: [{ from: 'a', to: 'b' }] });
  env.latency(20);
  const pool = new FakePool(env.store);
  const sched = env.make(pool);
  const run = await env.start(sched);
  await until(() => pool.pending.length === 1, 'a dispatched');
  pool.completeAll();
  await until(() => env.ports.inFlight === 1, 'a flush in flight');
  const status = await sched.transact(
    (fn) => env.ports.transaction(fn),
    () => assert.ok(sched.cancel('t', run.runId, 'enough', 'alice')),
    async (tx) => (await tx.runs.get('t', run.runId))!.status,
  );
  assert.equal(status, 'cancelling', 'the answer read the batch written in its own transaction');
  assert.equal(env.ports.maxInFlight, 1, 'the request transaction did not overlap the flush');
  pool.completeAll();
  await sched.drain(1000);
  assert.equal(env.store.runs.getForTenant('t', run.runId)!.status, 'cancelled', 'drain waited for the last flush');
  const h = history(env.store, run.runId);
  assert.ok(h.contiguous);
  assert.equal(h.lines.at(-1), 'run:cancelled');
  assert.equal(h.lines.filter((l) => l === 'run:cancelling').length, 1);
  env.cleanup();
});

test('a noop step never reaches the pool: the scheduler completes it in the same commit as its running state, with the outputs of {}', async () => {
  const env = setup({ dagId: 'mixed', version: '1.0.0', steps: [{ id: 'a', plugin: 'noop' }, { id: 'b', plugin: 'echo', with: { x: 1 } }, { id: 'c', plugin: 'noop' }], edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }] });
  const pool = new FakePool(env.store);
  const sched = env.make(pool);
  const events: EventRow[] = [];
  const batches: EventRow[][] = [];
  sched.events.on('committed', (rows) => (events.push(...rows), batches.push(rows)));
  const run = await env.start(sched);
  for (let i = 0; i < 50 && pool.pending.length === 0; i++) await settle();
  assert.deepEqual(pool.pending.map((p) => p.task.stepId), ['b'], 'only the echo step went to the pool');
  const a = env.store.runs.step(run.runId, 'a')!;
  assert.equal(a.status, 'completed');
  assert.equal(a.outputsHash, EMPTY);
  assert.equal(env.store.runs.attempt(run.runId, 'a', 1)?.status, 'completed', 'one attempt, recorded as any other');
  const of = (id: string) => events.filter((e) => e.stepId === id).map((e) => `${e.type} ${e.status}`);
  assert.deepEqual(of('a').slice(-2), ['step.updated running', 'step.updated completed']);
  const at = (id: string, status: string) => events.findIndex((e) => e.stepId === id && e.status === status);
  assert.ok(at('a', 'completed') < at('b', 'running'));
  const batchOf = (id: string, status: string) => batches.findIndex((b) => b.some((e) => e.stepId === id && e.status === status));
  assert.equal(batchOf('a', 'running'), batchOf('a', 'completed'), 'running and completed in one commit');
  assert.equal(batchOf('a', 'completed'), batchOf('b', 'running'), 'the step it made ready started in that commit too');
  pool.completeAll();
  for (let i = 0; i < 50 && env.store.runs.getForTenant('t', run.runId)?.status !== 'completed'; i++) await settle();
  assert.equal(env.store.runs.getForTenant('t', run.runId)!.status, 'completed');
  assert.equal(pool.pending.length, 0, 'c never reached the pool either');
  assert.equal(env.store.runs.step(run.runId, 'c')!.outputsHash, EMPTY);
  assert.deepEqual(of('a'), of('b'), 'the same events as a step the pool ran');
  await sched.drain(1000);
  env.cleanup();
});
