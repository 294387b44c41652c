import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../core/hash.js';
import { resolveAllowedProgram } from './builtins/index.js';
import { until } from '../../test/helpers/wait.js';
import { logLines, startPool, task, tempDir, type TestPool } from './test-support.js';
import type { StepResult } from './index.js';

type Ended = Exclude<StepResult, { status: 'completed' }>;

function failedWith(r: StepResult, code: string, retryable: boolean): Ended {
  assert.equal(r.status, 'failed', JSON.stringify(r));
  const e = r as Ended;
  assert.equal(e.error.code, code);
  assert.equal(e.error.retryable, retryable);
  return e;
}

/** Whether `pid` is a live process (a zombie, killed and waiting to be reaped, is not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
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
    const bare = await t.pool.run(task('exec', { program: 'echo', args: ['x'] }));
    assert.equal(bare.status, 'completed');
  });

  test('non-zero exit fails with EXIT_<code>; stderr goes to the log', async () => {
    const r = failedWith(await t.pool.run(task('exec', { program: '/bin/sh', args: ['-c', 'echo oops >&2; exit 3'] })), 'EXIT_3', true);
    assert.ok(logLines(r.logs).some((l) => l.stream === 'stderr' && l.msg === 'oops'));
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
    // The shell writes its own pid and its background child's to a file, then waits on the child.
    const pids = join(tempDir('stella-exec-pids-'), 'pids');
    const tk = task('exec', { program: '/bin/sh', args: ['-c', `sleep 30 & echo $$ $! > ${pids}.tmp; mv ${pids}.tmp ${pids}; wait`] }, { taskId: 'exec-cancel' });
    const p = t.pool.run(tk);
    await until(() => existsSync(pids), 'the shell started its child');
    const [shell, child] = readFileSync(pids, 'utf8').trim().split(' ').map(Number) as [number, number];
    assert.ok(shell > 0 && child > 0 && shell !== child);
    assert.ok(alive(shell) && alive(child), 'both running before the cancel');
    t.pool.abort('exec-cancel');
    const r = await p;
    assert.equal(r.status, 'cancelled', JSON.stringify(r));
    await until(() => !alive(shell), `shell ${shell} killed`);
    await until(() => !alive(child), `its child ${child} (sleep 30) killed`);
    assert.equal(t.pool.stats().replaced, 0);
  });
});
