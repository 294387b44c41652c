/**
 * Hostile world, the `exec` built-in (issue #10, exploits 1, 4, 5 and their variants), against
 * a real server child process:
 * - code execution through loader/interpreter variables: a real shared library (built with gcc)
 *   written as an artifact by `/bin/echo`, then `LD_PRELOAD` pointing at it (relative to the
 *   work folder, as in the original exploit, and absolute); the same with `BASH_ENV` and
 *   `NODE_OPTIONS=--require`. A literal variable is refused at publish (422 DAG_INVALID), one
 *   that arrives through run inputs fails the step (EXEC_ENV_REFUSED); the payload never runs;
 * - processes outliving their step: a backgrounded `sleep`, `setsid`, a double fork after a
 *   successful step; a SIGTERM-ignoring grandchild after a cancel;
 * - four 60 MiB stdouts at once: the server's peak RSS grows by less than {@link RSS_BOUND_MB}.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevKeys, mintToken } from '../../src/auth/index.js';
import { sleepers } from '../../src/engine/pool/test-support.js';
import { until } from '../helpers/wait.js';
import { BASE } from '../helpers/base.js';
import { startChild, type Child } from './child.js';

/** Peak RSS growth of the server allowed for four parallel 60 MiB stdouts (it was ~740 MB). */
const RSS_BOUND_MB = 96;
const BIG = 60 * 1024 * 1024;
const TENANT = 'evil';

let child: Child;
let dataDir: string;
let token: string;
let markers: string;
let lib: Buffer;

/** A request as {@link TENANT} with this file's token (the dev token knows only `demo`). */
const req = (method: string, path: string, body?: unknown) => child.req(method, path, body, TENANT, { authorization: `Bearer ${token}` });

let seq = 0;
async function publish(steps: Array<Record<string, unknown>>, edges: Array<{ from: string; to: string }> = []): Promise<{ dagId: string; res: Awaited<ReturnType<typeof req>> }> {
  const dagId = `exec-${++seq}`;
  return { dagId, res: await req('POST', '/dags', { dagId, version: '1.0.0', steps, edges }) };
}

async function start(dagId: string, inputs: Record<string, unknown> = {}): Promise<string> {
  const r = await req('POST', '/runs', { dagId, inputs });
  assert.equal(r.status, 201, r.text);
  return r.body.runId;
}

async function waitRun(runId: string, pred: (run: any) => boolean = (r) => ['completed', 'failed', 'cancelled'].includes(r.status), ms = 120_000): Promise<any> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await req('GET', `/runs/${runId}`);
    if (pred(r.body)) return r.body;
    if (Date.now() > deadline) assert.fail(`run ${runId}: condition not reached (${r.body.status})`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const objectPath = (hash: string) => join(dataDir, 'artifacts', hash.slice(0, 2), hash.slice(2));
/** The old work folder was DATA/work/<run>/<step>/<attempt>: four levels up is DATA. */
const relativeObject = (hash: string) => `../../../../artifacts/${hash.slice(0, 2)}/${hash.slice(2)}`;
/** `/bin/echo -ne` arguments that print exactly these bytes. */
const echoBytes = (b: Buffer) => ['-ne', [...b].map((x) => `\\x${x.toString(16).padStart(2, '0')}`).join('')];
const pwned = (name: string) => existsSync(join(markers, name));

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

before(async () => {
  markers = mkdtempSync(join(tmpdir(), 'orch-pwned-'));
  chmodSync(markers, 0o777); // whoever the payload runs as could leave its mark
  const src = join(markers, 'pwn.c');
  writeFileSync(
    src,
    `#include <stdio.h>\n#include <unistd.h>\n__attribute__((constructor)) static void pwn(void) {\n  FILE *f = fopen("${markers}/ld", "a");\n  if (f) { fprintf(f, "uid=%d\\n", (int)getuid()); fclose(f); }\n}\n`,
  );
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-s', '-o', join(markers, 'pwn.so'), src]);
  lib = readFileSync(join(markers, 'pwn.so'));
  dataDir = mkdtempSync(join(tmpdir(), 'orch-exec-'));
  child = await startChild(dataDir, [
    '--exec-allow', '/bin/echo', '--exec-allow', '/bin/sh', '--exec-allow', '/bin/bash', '--exec-allow', process.execPath,
    '--exec-env-allow', 'GREETING', '--workers', '2',
  ]);
  const dev = await ensureDevKeys(dataDir);
  token = await mintToken({ ...dev, tenants: [TENANT], scopes: ['orchestrator:admin'] });
});

after(async () => {
  child?.proc.kill('SIGTERM');
  await child?.exited;
  for (const d of [dataDir, `${dataDir}-work`, markers]) rmSync(d, { recursive: true, force: true });
});

describe('exec: loader and interpreter variables never reach a program', () => {
  /** Each payload: how it is planted (as an artifact written by echo) and fired. */
  const payloads = () => {
    const script = Buffer.from(`echo pwned >> ${markers}/bash\n`);
    const js = Buffer.from(`require('fs').appendFileSync(${JSON.stringify(join(markers, 'node'))}, 'pwned');\n`);
    return [
      { name: 'ld', bytes: lib, fire: (p: string) => ({ program: '/bin/echo', args: ['hi'], env: { LD_PRELOAD: p } }) },
      { name: 'bash', bytes: script, fire: (p: string) => ({ program: '/bin/bash', args: ['-c', 'true'], env: { BASH_ENV: p } }) },
      { name: 'node', bytes: js, fire: (p: string) => ({ program: process.execPath, args: ['-e', '0'], env: { NODE_OPTIONS: `--require ${p}` } }) },
    ];
  };

  test('literal LD_PRELOAD / BASH_ENV / NODE_OPTIONS in a DAG are refused at publish (422 DAG_INVALID)', async () => {
    for (const p of payloads()) {
      const hash = sha256(p.bytes);
      const { res } = await publish(
        [
          { id: 'plant', plugin: 'exec', with: { program: '/bin/echo', args: echoBytes(p.bytes) } },
          { id: 'fire-rel', plugin: 'exec', with: p.fire(relativeObject(hash)) },
          { id: 'fire-abs', plugin: 'exec', with: p.fire(objectPath(hash)) },
        ],
        [{ from: 'plant', to: 'fire-rel' }, { from: 'plant', to: 'fire-abs' }],
      );
      if (res.status === 201) {
        // The old server published it: run it, to show what that meant.
        const run = await waitRun(await start(res.body.dagId));
        console.log(`exec: ${p.name} DAG published and ran (${run.status}); payload ran: ${pwned(p.name)}`);
      }
      assert.equal(res.status, 422, `${p.name}: ${res.text.slice(0, 300)}`);
      assert.equal(res.body.error.code, 'DAG_INVALID');
      const problems = res.body.error.details.errors.filter((e: any) => e.code === 'EXEC_ENV_REFUSED');
      assert.deepEqual(problems.map((e: any) => e.stepId).sort(), ['fire-abs', 'fire-rel'], p.name);
      assert.equal(pwned(p.name), false, `${p.name}: the payload never ran`);
    }
  });

  test('the same variables arriving through run inputs fail the step EXEC_ENV_REFUSED; the payload never runs', async () => {
    for (const p of payloads()) {
      const hash = sha256(p.bytes);
      const { dagId, res } = await publish(
        [
          { id: 'plant', plugin: 'exec', with: { program: '/bin/echo', args: echoBytes(p.bytes) } },
          { id: 'fire', plugin: 'exec', with: { program: '${{ inputs.program }}', args: '${{ inputs.args }}', env: '${{ inputs.env }}' } },
        ],
        [{ from: 'plant', to: 'fire' }],
      );
      assert.equal(res.status, 201, res.text);
      for (const path of [relativeObject(hash), objectPath(hash)]) {
        const run = await waitRun(await start(dagId, p.fire(path)));
        const fire = run.steps.find((s: any) => s.stepId === 'fire');
        assert.equal(run.steps.find((s: any) => s.stepId === 'plant').outputs.stdoutHash, hash, 'the payload was stored');
        assert.equal(pwned(p.name), false, `${p.name} via ${path}: the payload never ran`);
        assert.equal(fire.status, 'failed', `${p.name}: ${JSON.stringify(fire)}`);
        assert.equal(fire.errorCode, 'EXEC_ENV_REFUSED');
      }
    }
  });

  test('an allowed variable (--exec-env-allow GREETING) reaches the program', async () => {
    const { dagId, res } = await publish([{ id: 'x', plugin: 'exec', with: { program: '/bin/sh', args: ['-c', 'echo "$GREETING"'], env: { GREETING: 'hello' } } }]);
    assert.equal(res.status, 201, res.text);
    const run = await waitRun(await start(dagId));
    assert.equal(run.status, 'completed', JSON.stringify(run));
    assert.equal(run.steps[0].outputs.stdoutHash, sha256('hello\n'));
  });
});

describe('exec: nothing a step started outlives it', () => {
  test('a successful step leaves no backgrounded, setsid or double-forked process behind', async () => {
    const tag = randomBytes(3).readUIntBE(0, 3).toString();
    const script = `sleep 301.${tag} & setsid sleep 302.${tag} & (sleep 303.${tag} &) ; sleep 0.2; echo done`;
    const { dagId } = await publish([{ id: 'x', plugin: 'exec', with: { program: '/bin/sh', args: ['-c', script] } }]);
    const run = await waitRun(await start(dagId));
    assert.equal(run.status, 'completed', JSON.stringify(run));
    await until(() => sleepers(tag).length === 0, () => `processes left after the step: ${sleepers(tag).join(', ')}`, 5000);
  });

  test('a cancel kills a grandchild that ignores SIGTERM (and closed its pipes)', async () => {
    const tag = randomBytes(3).readUIntBE(0, 3).toString();
    const script = `(trap "" TERM; exec sleep 304.${tag} </dev/null >/dev/null 2>&1) & sleep 305.${tag} & wait`;
    const { dagId } = await publish([{ id: 'x', plugin: 'exec', with: { program: '/bin/sh', args: ['-c', script] } }]);
    const runId = await start(dagId);
    await until(() => sleepers(tag).length === 2, 'the step started its processes', 20_000);
    const c = await req('POST', `/runs/${runId}:cancel`, {});
    assert.ok(c.status === 200 || c.status === 202, c.text);
    const run = await waitRun(runId);
    assert.equal(run.status, 'cancelled');
    await until(() => sleepers(tag).length === 0, () => `processes left after the cancel: ${sleepers(tag).join(', ')}`, 5000);
  });
});

describe('exec: large output streams to disk', () => {
  test(`four 60 MiB stdouts at once grow the server's peak RSS by less than ${RSS_BOUND_MB} MB`, async () => {
    const pid = child.proc.pid!;
    const { dagId } = await publish([{ id: 'x', plugin: 'exec', with: { program: '/bin/sh', args: ['-c', `head -c ${BIG} /dev/zero`] }, timeoutMs: 300_000 }]);
    // Warm: the exec host is started and the code paths are hot before measuring.
    await waitRun(await start(dagId));
    const base = status(pid, 'VmRSS');
    writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM (peak RSS) to the current RSS
    const runs = await Promise.all([0, 1, 2, 3].map(() => start(dagId)));
    const ended = await Promise.all(runs.map((id) => waitRun(id, undefined, 300_000)));
    const peak = status(pid, 'VmHWM');
    const growth = peak - base;
    console.log(`exec: 4 × 60 MiB stdout: server RSS ${base.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB (+${growth.toFixed(0)} MB; bound ${RSS_BOUND_MB} MB)`);
    const zeros = sha256(new Uint8Array(BIG));
    for (const run of ended) {
      assert.equal(run.status, 'completed', JSON.stringify(run).slice(0, 500));
      assert.equal(run.steps[0].outputs.stdoutHash, zeros);
    }
    const got = await fetch(`${child.url}${BASE}/artifacts/${zeros}`, { headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': TENANT } });
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-length'), String(BIG));
    await got.body?.cancel();
    assert.ok(growth < RSS_BOUND_MB, `peak RSS grew by ${growth.toFixed(0)} MB`);
  });
});
