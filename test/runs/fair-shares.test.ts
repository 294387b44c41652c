/**
 * Fair shares between tenants (docs/RUNS.md, "Fair shares"): a tenant that floods the step
 * slots with steps that never end (the contract's largest DAG, 10,000 steps, each allowed the
 * largest timeout, ~24.8 days) does not delay another tenant's one-step run past one scheduler
 * turn; neither does a tenant with thousands of runs queued, nor one holding every event
 * stream it may open. Every assertion is on an order of events (B's work done while all of
 * A's is still in flight), never on wall time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { openNdjson } from '../events/stream-client.js';
import { publish, startRun, waitForRun } from './helpers.js';

const FOREVER = 2_147_483_647; // the largest step timeout the contract allows (~24.8 days)

/** `n` independent `sleep` steps that never end on their own. */
function flood(n: number) {
  return {
    dagId: 'flood',
    steps: Array.from({ length: n }, (_, i) => ({
      id: `s${String(i).padStart(5, '0')}`, plugin: 'sleep', with: { ms: FOREVER }, timeoutMs: FOREVER,
    })),
  };
}

const count = (steps: any[], status: string) => steps.filter((s: any) => s.status === status).length;

async function server(args: string[]): Promise<TestServer> {
  // One worker thread: 64 step slots in all.
  return startTestServer(['--allow-unsigned', '--drain-timeout', '0', '--workers', '1', ...args]);
}

/**
 * The first `size` steps of a run (topological order, ties by step id — the order ready steps
 * are dispatched in), without reading all 10,000 of them on every poll.
 */
async function firstSteps(t: TestServer, runId: string, tenant: string, size: number): Promise<any[]> {
  const r = await t.req('GET', `/runs/${runId}/steps?page_size=${size}`, { tenant });
  assert.equal(r.status, 200, r.text);
  return r.body.items;
}

/** Waits until the flooding run holds `n` slots, and checks that it holds no more. */
async function holding(t: TestServer, runId: string, tenant: string, n: number): Promise<any[]> {
  const deadline = Date.now() + 30_000;
  let steps = await firstSteps(t, runId, tenant, n + 50);
  while (count(steps, 'running') < n && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    steps = await firstSteps(t, runId, tenant, n + 50);
  }
  assert.equal(count(steps, 'running'), n, `${tenant} holds exactly ${n} slots`);
  assert.equal(count(steps, 'queued'), 50, `${tenant}'s other steps wait`);
  return steps;
}

/** Every step the flooding tenant had running is still running: none ended meanwhile. */
async function stillRunning(t: TestServer, runId: string, before: any[], tenant: string): Promise<void> {
  const now = await firstSteps(t, runId, tenant, before.length);
  const running = (steps: any[]) => steps.filter((s: any) => s.status === 'running').map((s: any) => s.stepId);
  assert.deepEqual(running(now), running(before), `all of ${tenant}'s running steps are still running`);
}

test('defaults: a tenant flooding with a 10,000-step DAG of endless steps holds half the slots; another tenant\'s one-step run runs meanwhile, also with a second flooder', async () => {
  const t = await server([]);
  try {
    await publish(t, flood(10_000), 'a');
    await publish(t, flood(100), 'c');
    await publish(t, { dagId: 'one', steps: [{ id: 'only', plugin: 'noop' }] }, 'b');
    const a = await startRun(t, 'flood', { tenant: 'a' });
    // --max-steps-per-tenant auto: half of the 64 slots.
    const aSteps = await holding(t, a.runId, 'a', 32);
    const b1 = await waitForRun(t, (await startRun(t, 'one', { tenant: 'b' })).runId, { tenant: 'b' });
    assert.equal(b1.status, 'completed');
    await stillRunning(t, a.runId, aSteps, 'a');

    // A second flooder takes what the reserve (auto: 8 of 64) leaves: 64 - 8 - 32 = 24 slots.
    const c = await startRun(t, 'flood', { tenant: 'c' });
    const cSteps = await holding(t, c.runId, 'c', 24);
    const b2 = await waitForRun(t, (await startRun(t, 'one', { tenant: 'b' })).runId, { tenant: 'b' });
    assert.equal(b2.status, 'completed', 'b got a reserved slot while a and c hold everything else');
    await stillRunning(t, a.runId, aSteps, 'a');
    await stillRunning(t, c.runId, cSteps, 'c');
  } finally {
    await t.stop();
  }
});

test('no per-tenant cap (--max-steps-per-tenant = every slot): the reserve alone still gives a newcomer a slot at once', async () => {
  const t = await server(['--max-steps-per-tenant', '64', '--reserved-step-slots', '8']);
  try {
    await publish(t, flood(200), 'a');
    await publish(t, { dagId: 'one', steps: [{ id: 'only', plugin: 'noop' }] }, 'b');
    const a = await startRun(t, 'flood', { tenant: 'a' });
    const aSteps = await holding(t, a.runId, 'a', 64 - 8);
    const b = await waitForRun(t, (await startRun(t, 'one', { tenant: 'b' })).runId, { tenant: 'b' });
    assert.equal(b.status, 'completed');
    await stillRunning(t, a.runId, aSteps, 'a');
  } finally {
    await t.stop();
  }
});

test('the run queue: while a tenant holds every run slot of the installation and has 2,000 runs queued, another tenant\'s first run starts at once', async () => {
  const t = await server(['--max-running-runs', '5', '--max-running-runs-total', '5', '--max-queued-runs', '5000', '--rate-limit', '1000000']);
  try {
    await publish(t, flood(1), 'a');
    await publish(t, { dagId: 'one', steps: [{ id: 'only', plugin: 'noop' }] }, 'b');
    for (let i = 0; i < 2005; i += 25) {
      await Promise.all(Array.from({ length: Math.min(25, 2005 - i) }, () => startRun(t, 'flood', { tenant: 'a' })));
    }
    const queues = async () => {
      const h = await t.req('GET', '/admin/health', { tenant: null, token: await t.token({ tenants: ['a', 'b'] }) });
      return Object.fromEntries(h.body.queues.map((q: any) => [q.tenant, [q.running, q.queued]]));
    };
    assert.deepEqual((await queues()).a, [5, 2000], 'a holds every run slot of the installation, 2,000 more queued');
    const b = await waitForRun(t, (await startRun(t, 'one', { tenant: 'b' })).runId, { tenant: 'b' });
    assert.equal(b.status, 'completed');
    assert.deepEqual((await queues()).a, [5, 2000], 'b ran while a still had all its runs running and queued');
  } finally {
    await t.stop();
  }
});

test('event streams: a tenant holding all its streams (replaying, never reading) leaves other tenants theirs, live', async () => {
  const t = await server(['--max-streams', '4']);
  const open: Array<{ close(): void }> = [];
  try {
    await publish(t, flood(300), 'a');
    await publish(t, { dagId: 'one', steps: [{ id: 'only', plugin: 'noop' }] }, 'b');
    const a = await startRun(t, 'flood', { tenant: 'a' });
    await holding(t, a.runId, 'a', 32);
    // A log to replay (hundreds of events) and four streams that never read it.
    const token = await t.token({ tenants: ['a'] });
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${t.url}/api/v1/orchestrator/runs/stream?since=0`, {
        headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'a', accept: 'application/x-ndjson' },
      });
      assert.equal(res.status, 200);
      open.push({ close: () => void res.body?.cancel().catch(() => undefined) });
    }
    const fifth = await t.req('GET', '/runs/stream', { tenant: 'a' });
    assert.equal(fifth.status, 429);
    assert.equal(fifth.body.error.code, 'QUOTA_EXCEEDED');
    const hub = t.server.deps.services.stream.hub;
    const bStream = await openNdjson(t, '', { tenant: 'b' });
    open.push(bStream);
    assert.equal(bStream.status, 200, 'b may open a stream while a holds all of its own');
    const b = await startRun(t, 'one', { tenant: 'b' });
    await bStream.until((evs) => evs.some((e) => e.runId === b.runId && e.type === 'run.completed'));
    assert.equal(hub.count('a'), 4, 'a\'s streams were all still open when b\'s events arrived live');
  } finally {
    for (const o of open) o.close();
    await t.stop();
  }
});
