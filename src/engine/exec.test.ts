import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../core/hash.js';
import { resolveAllowedProgram } from './builtins/index.js';
import { logLines, startPool, task, type TestPool } from './test-support.js';
import type { StepResult } from './index.js';

type Ended = Exclude<StepResult, { status: 'completed' }>;

function failedWith(r: StepResult, code: string, retryable: boolean): Ended {
  assert.equal(r.status, 'failed', JSON.stringify(r));
  const e = r as Ended;
  assert.equal(e.error.code, code);
  assert.equal(e.error.retryable, retryable);
  return e;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('resolveAllowedProgram matches normalised absolute paths, or one bare name', () => {
  const allow = ['/bin/echo', '/bin/sh', '/usr/bin/env', 'relative/ignored'];
  assert.equal(resolveAllowedProgram('/bin/echo', allow), '/bin/echo');
  assert.equal(resolveAllowedProgram('/bin/../bin/echo', allow), '/bin/echo');
  assert.equal(resolveAllowedProgram('echo', allow), '/bin/echo');
  assert.equal(resolveAllowedProgram('/bin/ls', allow), null);
  assert.equal(resolveAllowedProgram('./echo', allow), null);
  assert.equal(resolveAllowedProgram('bin/echo', allow), null);
  assert.equal(resolveAllowedProgram('ignored', allow), null);
  assert.equal(resolveAllowedProgram('/usr/bin/echo', allow), null, 'same binary, other path: not allowed');
  assert.equal(resolveAllowedProgram('echo', ['/bin/echo', '/usr/bin/echo']), null, 'ambiguous bare name');
});

describe('exec built-in', () => {
  let t: TestPool;
  before(async () => {
    process.env.STELLA_TEST_SECRET = 'do-not-leak';
    t = await startPool({ execAllow: ['/bin/echo', '/bin/sh', '/nonexistent/program'], abortGraceMs: 3000 });
  });
  after(() => t.pool.close());

  test('runs an allowed program with argv (no shell), logs and stores stdout', async () => {
    const r = await t.pool.run(task('exec', { program: '/bin/echo', args: ['hello', '$HOME', '; ls'] }));
    assert.equal(r.status, 'completed', JSON.stringify(r));
    const out = 'hello $HOME ; ls\n';
    assert.deepEqual(r.status === 'completed' && r.outputs, { exitCode: 0, stdoutHash: sha256Hex(out) });
    assert.equal((await t.store.get(sha256Hex(out)))?.toString(), out);
    const line = logLines(r.logs).find((l) => l.stream === 'stdout');
    assert.equal(line?.msg, 'hello $HOME ; ls');
    assert.equal(line?.level, 'info', 'stdout lines at info');
    const bare = await t.pool.run(task('exec', { program: 'echo', args: ['x'] }));
    assert.equal(bare.status, 'completed');
  });

  test('non-zero exit fails with EXIT_<code>; stderr goes to the log', async () => {
    const r = failedWith(await t.pool.run(task('exec', { program: '/bin/sh', args: ['-c', 'echo oops >&2; exit 3'] })), 'EXIT_3', true);
    assert.ok(logLines(r.logs).some((l) => l.stream === 'stderr' && l.msg === 'oops' && l.level === 'warn'), 'stderr lines at warn');
  });

  test('programs outside the allow-list are refused, not retried', async () => {
    for (const program of ['/bin/ls', '/usr/bin/echo', 'ls', './echo', '/bin/../bin/ls']) {
      const r = failedWith(await t.pool.run(task('exec', { program })), 'EXEC_NOT_ALLOWED', false);
      assert.match(r.error.message, /allow-list/);
    }
    failedWith(await t.pool.run(task('exec', {})), 'INPUTS_INVALID', false);
    failedWith(await t.pool.run(task('exec', { program: '/bin/echo', args: 'x' })), 'INPUTS_INVALID', false);
    failedWith(await t.pool.run(task('exec', { program: '/nonexistent/program' })), 'EXEC_FAILED', false);
  });

  test('runs in a fresh per-attempt work folder, removed afterwards, with a clean environment', async () => {
    const tk = task('exec', { program: '/bin/sh', args: ['-c', 'pwd; touch made; echo "$FOO-$STELLA_TEST_SECRET"'], env: { FOO: 'bar' } }, { attempt: 2 });
    const r = await t.pool.run(tk);
    assert.equal(r.status, 'completed', JSON.stringify(r));
    const lines = logLines(r.logs).map((l) => l.msg);
    assert.equal(lines[0], join(t.workDir, tk.runId, tk.stepId, '2'));
    assert.equal(lines[1], 'bar-');
    assert.equal(existsSync(join(t.workDir, tk.runId)), false);
    assert.deepEqual(existsSync(t.workDir) ? readdirSync(t.workDir) : [], []);
  });

  test('cancel kills the child and its children', async () => {
    const tk = task('exec', { program: '/bin/sh', args: ['-c', 'echo $$; sleep 30 & wait'] }, { taskId: 'exec-cancel' });
    const p = t.pool.run(tk);
    await new Promise((r) => setTimeout(r, 400));
    const t0 = Date.now();
    t.pool.abort('exec-cancel');
    const r = await p;
    assert.equal(r.status, 'cancelled', JSON.stringify(r));
    assert.ok(Date.now() - t0 < 2500);
    const pid = Number(logLines(r.logs).find((l) => l.stream === 'stdout')?.msg);
    assert.ok(pid > 0, r.logs);
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(alive(pid), false);
    assert.equal(t.pool.stats().replaced, 0);
  });
});
