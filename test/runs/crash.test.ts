/**
 * Crash and drain, with the real server as a child process: SIGKILL while steps run, restart
 * on the same data folder, and every acknowledged run reaches a terminal state with the
 * interrupted attempt recorded (ORCHESTRATOR_RESTART). Then SIGTERM drains: new runs get 503,
 * the step in flight finishes, the process exits 0, and the next start finishes the run.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { eventHash, type EventRow } from '../../src/store/index.js';
import { childWait, startChild, type Child } from './child.js';

const dataDir = mkdtempSync(join(tmpdir(), 'orch-crash-'));
const children: Child[] = [];
after(() => {
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(`${dataDir}-work`, { recursive: true, force: true });
});

const TERMINAL = ['completed', 'failed', 'cancelled'];
const step = (run: any, id: string) => run.steps.find((s: any) => s.stepId === id);

test('SIGKILL while steps run: after a restart every acknowledged run ends, interrupted attempts recorded', { timeout: 120_000 }, async () => {
  const a = await startChild(dataDir, ['--max-running-runs', '3']);
  children.push(a);
  const dag = (dagId: string, retries?: object) => ({
    dagId,
    version: '1.0.0',
    steps: [{ id: 'nap', plugin: 'sleep', with: { ms: 1500 }, ...(retries ? { retries } : {}) }, { id: 'after', plugin: 'noop' }],
    edges: [{ from: 'nap', to: 'after' }],
  });
  assert.equal((await a.req('POST', '/dags', dag('retrying', { max: 1, backoffMs: 10 }))).status, 201);
  assert.equal((await a.req('POST', '/dags', dag('once'))).status, 201);
  const acked: Array<{ runId: string; dagId: string }> = [];
  for (const dagId of ['retrying', 'once', 'retrying', 'retrying', 'once']) {
    const r = await a.req('POST', '/runs', { dagId });
    assert.equal(r.status, 201);
    acked.push({ runId: r.body.runId, dagId });
  }
  // Three runs are mid-step (the per-tenant limit), two are queued.
  for (const { runId } of acked.slice(0, 3)) await childWait(a, runId, (r) => step(r, 'nap').status === 'running');
  a.proc.kill('SIGKILL');
  assert.equal((await a.exited).signal, 'SIGKILL');

  const b = await startChild(dataDir, ['--max-running-runs', '3']);
  children.push(b);
  const ended = [];
  for (const { runId } of acked) ended.push(await childWait(b, runId, (r) => TERMINAL.includes(r.status)));
  for (const [i, run] of ended.entries()) {
    const nap = step(run, 'nap');
    const interrupted = i < 3;
    if (!interrupted) {
      assert.equal(run.status, 'completed', 'a run queued at the crash simply runs');
      assert.deepEqual(nap.attempts.map((x: any) => x.status), ['completed']);
      continue;
    }
    assert.equal(nap.attempts[0].status, 'failed');
    assert.equal(nap.attempts[0].errorCode, 'ORCHESTRATOR_RESTART');
    assert.ok(nap.attempts[0].endedUtc);
    if (acked[i]!.dagId === 'retrying') {
      assert.equal(run.status, 'completed', 'retried after the restart');
      assert.deepEqual(nap.attempts.map((x: any) => x.status), ['failed', 'completed']);
    } else {
      assert.equal(run.status, 'failed', 'no attempts left: the step fails, the run per triggers');
      assert.equal(nap.status, 'failed');
      assert.equal(nap.errorCode, 'ORCHESTRATOR_RESTART');
      assert.equal(step(run, 'after').status, 'skipped');
    }
  }

  // SIGTERM drains: a step in flight finishes, new runs are refused with 503, exit code 0.
  const slow = await b.req('POST', '/runs', { dagId: 'once' });
  assert.equal(slow.status, 201);
  await childWait(b, slow.body.runId, (r) => step(r, 'nap').status === 'running');
  b.proc.kill('SIGTERM');
  let refused: { status: number; body: any } | undefined;
  for (let i = 0; i < 40 && !refused; i++) {
    const r = await b.req('POST', '/runs', { dagId: 'once' }).catch(() => undefined);
    if (r && r.status === 503) refused = r;
    else await new Promise((res) => setTimeout(res, 10));
  }
  assert.equal(refused?.body.error.code, 'UNAVAILABLE');
  assert.equal((await b.exited).code, 0);

  const c = await startChild(dataDir);
  children.push(c);
  const last = await childWait(c, slow.body.runId, (r) => TERMINAL.includes(r.status));
  assert.equal(last.status, 'completed');
  assert.deepEqual(step(last, 'nap').attempts.map((x: any) => x.status), ['completed'], 'the drained step was not interrupted');
  c.proc.kill('SIGTERM');
  assert.equal((await c.exited).code, 0);

  // The event log survived intact: one chain, exactly one terminal event per run.
  const db = new Database(join(dataDir, 'orchestrator.db'), { readonly: true });
  const rows = db.prepare(`select tenant, seq, type, dag_id as dagId, run_id as runId, step_id as stepId, status, ts_ms as tsMs,
    trace_id as traceId, schedule_id as scheduleId, scheduled_ms as scheduledMs, detail, prev_hash as prevHash, hash
    from events where tenant='demo' order by seq`).all() as EventRow[];
  db.close();
  let prev = '';
  rows.forEach((e, i) => {
    assert.equal(e.seq, i + 1);
    assert.equal(e.hash, eventHash(prev, e));
    prev = e.hash;
  });
  for (const { runId } of [...acked, { runId: slow.body.runId }]) {
    const mine = rows.filter((e) => e.runId === runId);
    assert.equal(mine[0]!.type, 'run.started');
    assert.equal(mine.filter((e) => /^run\.(completed|failed|cancelled)$/.test(e.type)).length, 1, runId);
  }
});
