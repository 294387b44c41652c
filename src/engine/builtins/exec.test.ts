import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../../core/hash.js';
import { resolveAllowedProgram } from '../../dags/exec-policy.js';
import { loadPlugins } from '../plugins/plugins.js';
import { WorkerPool } from '../pool/pool.js';
import { until } from '../../../test/helpers/wait.js';
import { logLines, sleepers, startPool, task, testPoolSettings, type TestPool } from '../pool/test-support.js';
import type { StepResult } from '../pool/pool-types.js';

type Ended = Exclude<StepResult, { status: 'completed' }>;

function failedWith(r: StepResult, code: string, retryable: boolean): Ended {
  assert.equal(r.status, 'failed', JSON.stringify(r));
  const e = r as Ended;
  assert.equal(e.error.code, code);
  assert.equal(e.error.retryable, retryable);
  return e;
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
    t = await startPool({ execAllow: ['/bin/echo', '/bin/sh', '/nonexistent/program'], execEnvAllow: ['FOO', 'BAR_OK'], abortGraceMs: 3000 });
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

  test('runs in a fresh per-attempt work folder of its host, outside anything else, removed afterwards, with a clean environment', async () => {
    const tk = task('exec', { program: '/bin/sh', args: ['-c', 'pwd; touch made; echo "$FOO-$STELLA_TEST_SECRET-$HOME"'], env: { FOO: 'bar' } }, { attempt: 2 });
    const r = await t.pool.run(tk);
    assert.equal(r.status, 'completed', JSON.stringify(r));
    const lines = logLines(r.logs).map((l) => l.msg as string);
    const cwd = lines[0]!;
    assert.ok(cwd.startsWith(`${t.workDir}/`), `${cwd} is under the work root`);
    assert.ok(cwd.endsWith(`/${tk.runId}/${tk.stepId}/2`), cwd);
    assert.equal(lines[1], `bar--${cwd}`, 'only the allowed variable; the server\'s environment is not passed');
    assert.equal(existsSync(cwd), false, 'removed');
    assert.equal(existsSync(join(cwd, '..', '..')), false, 'the run folder too');
  });

  test('with.env: names outside --exec-env-allow and loader/interpreter variables fail EXEC_ENV_REFUSED', async () => {
    for (const env of [{ BAR: 'x' }, { LD_PRELOAD: '/x.so' }, { BASH_ENV: '/x' }, { NODE_OPTIONS: '--require /x' }, { PYTHONPATH: '/x' }, { path: '/x' }]) {
      const r = failedWith(await t.pool.run(task('exec', { program: '/bin/echo', env })), 'EXEC_ENV_REFUSED', false);
      assert.match(r.error.message, new RegExp(`with\\.env\\.${Object.keys(env)[0]}`));
    }
    assert.throws(() => new WorkerPool({ ...testPoolSettings(), registry: loadPlugins([]), artifacts: t.io, execEnvAllow: ['LD_PRELOAD'] }), /LD_PRELOAD/);
  });

  test('stdout is streamed into the artifact store whole (larger than any single message)', async () => {
    const n = 5 * 1024 * 1024 + 17;
    const r = await t.pool.run(task('exec', { program: '/bin/sh', args: ['-c', `head -c ${n} /dev/zero`] }));
    assert.equal(r.status, 'completed', JSON.stringify(r).slice(0, 500));
    const expected = sha256Hex(new Uint8Array(n));
    assert.deepEqual(r.status === 'completed' && r.outputs, { exitCode: 0, stdoutHash: expected });
    assert.equal((await t.store.stat(expected))?.size, n);
    assert.ok(t.io.owners.get(expected)?.has('demo'), 'owned by the step\'s tenant');
  });

  test('nothing the program started outlives a successful step: background, setsid, double fork', async () => {
    const tag = `${process.pid}${Date.now() % 100000}`;
    const script = `sleep 301.${tag} & setsid sleep 302.${tag} & (sleep 303.${tag} &) ; echo started`;
    const r = await t.pool.run(task('exec', { program: '/bin/sh', args: ['-c', script] }));
    assert.equal(r.status, 'completed', JSON.stringify(r));
    await waitGone(tag);
  });

  test('cancel kills the child and its children, also one that ignores SIGTERM', async () => {
    const tag = `${process.pid}${Date.now() % 100000}`;
    const script = `(trap "" TERM; exec sleep 304.${tag} </dev/null >/dev/null 2>&1) & sleep 305.${tag} & echo up; wait`;
    const tk = task('exec', { program: '/bin/sh', args: ['-c', script] }, { taskId: 'exec-cancel' });
    const p = t.pool.run(tk);
    await until(() => sleepers(tag).length === 2, 'the step started its processes', 10_000);
    t.pool.abort('exec-cancel');
    const r = await p;
    assert.equal(r.status, 'cancelled', JSON.stringify(r));
    await waitGone(tag);
    assert.equal(t.pool.stats().replaced, 0);
  });
});

/** Waits (up to 5 s) for every marked process to be gone. */
function waitGone(tag: string): Promise<void> {
  return until(() => sleepers(tag).length === 0, () => `processes of the step left: ${sleepers(tag).join(', ')}`, 5000);
}
