/**
 * The client's cross-cutting behaviour, as child processes: auth and tenant problems exit 2
 * (found locally or answered by the server), other failures 1 with the envelope's code,
 * message and trace id; tables and colours on a terminal only (a real pseudo-terminal via
 * `script`), never with NO_COLOR, JSON when piped; help for every command; bash completion.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { COMMANDS } from '../../src/cli/index.js';
import { startRun, waitForRun } from '../runs/helpers.js';
import { PROGRAM, PROGRAM_ARGS } from '../helpers/program.js';
import { cleanEnv, cli, clientWorld, parseJson, parseNdjson, type ClientWorld } from './helpers.js';

const TRACE = /\(trace_id [0-9a-f]{32}\)/;

/**
 * Runs the CLI in a pseudo-terminal (util-linux `script`), as a person at a terminal would.
 * Asynchronous: the server answering it runs in this process.
 */
function onTerminal(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const line = [...PROGRAM, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', line, '/dev/null'], { env: cleanEnv({ ...env, COLUMNS: '200', LINES: '50' }), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: out.replace(/\r\n/g, '\n') }));
  });
}

describe('client basics', () => {
  let w: ClientWorld;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orch-cli-basics-'));
    w = await clientWorld([{ dagId: 'hello', steps: [{ id: 'greet', plugin: 'echo', with: { hi: 1 } }] }]);
  });
  after(async () => {
    await w.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('auth and tenant problems exit 2: no token, a bad token, another tenant, a missing scope, an ambiguous tenant', async () => {
    const readOnly = await w.t.token({ tenants: ['a'], scopes: ['orchestrator:read'], ttlSec: 86_400 });
    const twoTenants = await w.t.token({ tenants: ['a', 'b'], ttlSec: 86_400 });
    const onlyB = await w.t.token({ tenants: ['b'], ttlSec: 86_400 });
    const [none, garbage, forbidden, scope, ambiguous, named] = await Promise.all([
      cli(['runs', 'list'], { env: { ORCH_SERVER: w.t.url } }),
      cli(['runs', 'list', '--token', 'not.a.jwt', '--tenant', 'a'], { env: { ORCH_SERVER: w.t.url } }),
      cli(['runs', 'list', '--token', onlyB, '--tenant', 'a'], { env: { ORCH_SERVER: w.t.url } }),
      cli(['dags', 'publish', '-'], { env: { ...w.env, ORCH_TOKEN: readOnly }, input: JSON.stringify({ dagId: 'x', version: '1.0.0', steps: [{ id: 'n', plugin: 'noop' }], edges: [] }) }),
      cli(['runs', 'list'], { env: { ORCH_SERVER: w.t.url, ORCH_TOKEN: twoTenants } }),
      cli(['runs', 'list'], { env: { ORCH_SERVER: w.t.url, ORCH_TOKEN: twoTenants, ORCH_TENANT: 'a' } }),
    ]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no token: pass --token or --token-file, or set ORCH_TOKEN/);
    assert.equal(garbage.code, 2, garbage.stderr);
    assert.match(garbage.stderr, new RegExp(`^orchestrator runs list: UNAUTHENTICATED: .+ ${TRACE.source}$`, 'm'));
    assert.equal(forbidden.code, 2);
    assert.match(forbidden.stderr, /TENANT_FORBIDDEN/);
    assert.match(forbidden.stderr, TRACE);
    assert.equal(scope.code, 2);
    assert.match(scope.stderr, /INSUFFICIENT_SCOPE/);
    assert.equal(ambiguous.code, 2);
    assert.match(ambiguous.stderr, /no tenant: pass --tenant or set ORCH_TENANT \(the token names a, b\)/);
    assert.equal(named.code, 0, named.stderr);
    assert.deepEqual(parseJson(named), []);
  });

  test('tokens: --token-file (trailing newline), flags beat the environment, an unreadable file is exit 2', async () => {
    const good = w.env.ORCH_TOKEN!;
    const file = join(dir, 'token');
    writeFileSync(file, `${good}\n`);
    const [fromFile, flagWins, envFile, missing] = await Promise.all([
      cli(['dags', 'list', '--token-file', file], { env: { ORCH_SERVER: w.t.url } }),
      cli(['dags', 'list', '--token', good], { env: { ORCH_SERVER: w.t.url, ORCH_TOKEN: 'bad.bad.bad' } }),
      cli(['dags', 'list'], { env: { ORCH_SERVER: w.t.url, ORCH_TOKEN_FILE: file } }),
      cli(['dags', 'list', '--token-file', join(dir, 'nope')], { env: { ORCH_SERVER: w.t.url } }),
    ]);
    for (const r of [fromFile, flagWins, envFile]) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseJson(r)[0].dagId, 'hello');
    }
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read the token file .*nope: ENOENT/);
  });

  test('an unreachable server or a bad --server is exit 1; usage errors are exit 1 with the usage line', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const closed = `http://127.0.0.1:${(probe.address() as { port: number }).port}`;
    await new Promise((r) => probe.close(r));
    const [down, badUrl, noRun, badOutput] = await Promise.all([
      cli(['runs', 'list'], { env: { ...w.env, ORCH_SERVER: closed } }),
      cli(['runs', 'list', '--server', 'ftp://x'], { env: w.env }),
      cli(['runs', 'get'], { env: w.env }),
      cli(['runs', 'list', '--output', 'xml'], { env: w.env }),
    ]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+\/api\/v1\/orchestrator: ECONNREFUSED/);
    assert.equal(badUrl.code, 1);
    assert.match(badUrl.stderr, /--server must be an http\(s\) URL/);
    assert.equal(noRun.code, 1);
    assert.match(noRun.stderr, /usage: orchestrator runs get RUN/);
    assert.equal(badOutput.code, 1);
    assert.match(badOutput.stderr, /--output must be one of table, json, ndjson/);
  });

  test('a terminal gets aligned, coloured tables; NO_COLOR keeps the table without colour; a pipe gets JSON', async () => {
    const piped = await cli(['runs', 'start', 'hello', '--wait'], { env: w.env });
    assert.equal(parseJson(piped).status, 'completed');
    const tty = await onTerminal(['runs', 'list'], w.env);
    assert.equal(tty.code, 0, tty.out);
    assert.match(tty.out, /\x1b\[32mcompleted/, 'status in green');
    assert.match(tty.out, /RUN {3}/);
    const plain = await onTerminal(['runs', 'list'], { ...w.env, NO_COLOR: '1' });
    assert.ok(!plain.out.includes('\x1b['), `no escape codes with NO_COLOR:\n${JSON.stringify(plain.out)}`);
    assert.match(plain.out, /^RUN +DAG +STATUS +STARTED +DURATION\n[0-9a-f-]{36}  hello@1\.0\.0  completed  /m);
    const live = await onTerminal(['runs', 'start', 'hello', '--follow'], { ...w.env, NO_COLOR: '1' });
    assert.equal(live.code, 0, live.out);
    assert.match(live.out, /\x1b\[\d+A/, 'the live view redraws in place');
    assert.match(live.out, /✓ greet +completed/);
  });

  test('Ctrl-C (SIGINT) ends a follow quietly with exit 130', async () => {
    await waitForRun(w.t, (await startRun(w.t, 'hello')).runId);
    const child = spawn(process.execPath, [...PROGRAM_ARGS, 'events', 'tail', '--since', '0'], { env: cleanEnv(w.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await new Promise<void>((r) => child.stdout.setEncoding('utf8').on('data', (d: string) => ((stdout += d), stdout.includes('\n') && r())));
    child.kill('SIGINT');
    assert.equal(await closed, 130, stderr);
    assert.equal(stderr, '', 'no stack trace, no error message');
    assert.equal(parseNdjson(stdout)[0].seq, 1);
  });

  test('a token that expires during a follow ends it with exit 2 (no reconnect loop while the server still accepts it)', async () => {
    const short = await w.t.token({ tenants: ['a'], ttlSec: 3 });
    const r = await cli(['events', 'tail'], { env: { ORCH_SERVER: w.t.url, ORCH_TOKEN: short } });
    assert.equal(r.code, 2, r.stderr);
    // Normally the server cuts the stream at the token's expiry; on a machine so loaded that the
    // CLI starts a minute late, the server refuses the token at once (also exit 2).
    assert.match(r.stderr, /UNAUTHENTICATED: (the token expired while following the stream|token expired)/);
    assert.ok((r.stderr.match(/stream interrupted/g) ?? []).length === 0, `no reconnects: ${r.stderr}`);
  });

  test('--help of every command exits 0 and shows its usage; client commands show an example and the global flags', async () => {
    const queue = [...COMMANDS];
    const failures: string[] = [];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const r = await cli([...c.name.split(' '), '--help']);
        if (r.code !== 0 || !r.stdout.startsWith(`usage: orchestrator ${c.name}`)) failures.push(`${c.name}: exit ${r.code}\n${r.stdout}${r.stderr}`);
        if (c.examples?.length && !r.stdout.includes(`examples:\n  ${c.examples[0]}`)) failures.push(`${c.name}: no example`);
        if (/^(runs|dags|artifacts|events tail)/.test(c.name) && !/--server URL[\s\S]*\[ORCH_SERVER\]/.test(r.stdout)) failures.push(`${c.name}: no --server`);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    assert.deepEqual(failures, []);
    const client = COMMANDS.filter((c) => /^(runs|dags|artifacts|events tail)/.test(c.name));
    assert.equal(client.length, 11);
    assert.ok(client.every((c) => c.examples?.length), 'every client command has an example');
  });

  test('command groups: "dag --help" lists dag sign and check (exit 0); "runs" alone lists its commands (exit 1)', async () => {
    const [dag, runs, nope] = await Promise.all([cli(['dag', '--help']), cli(['runs']), cli(['nope'])]);
    assert.equal(dag.code, 0, dag.stderr);
    assert.match(dag.stdout, /^ {2}dag sign /m);
    assert.match(dag.stdout, /^ {2}dag check /m);
    assert.match(dag.stdout, /see also:\n {2}dags list /);
    assert.equal(runs.code, 1);
    for (const s of ['start', 'list', 'get', 'cancel', 'logs']) assert.match(runs.stderr, new RegExp(`^  runs ${s} `, 'm'));
    assert.equal(nope.code, 1);
    assert.match(nope.stderr, /unknown command "nope"/);
  });

  test('completion bash: command words, subcommands, flags, flag values, values skipped when counting words', async () => {
    const script = (await cli(['completion', 'bash'])).stdout;
    const cases: Array<[string, string]> = [
      ['orchestrator ru', 'runs'],
      ['orchestrator runs st', 'start'],
      ['orchestrator dag ', 'check sign --help'],
      ['orchestrator runs start hello --fo', '--follow'],
      ['orchestrator runs list --status f', 'failed'],
      ['orchestrator events tail --output nd', 'ndjson'],
      ['orchestrator runs start --tenant demo --w', '--wait'],
      ['orchestrator artifacts get -o out --ou', '--out --output'],
      ['orchestrator serve --dat', '--data-dir'],
      ['orchestrator serve --sy', '--sync'],
      ['orchestrator schedules ', '--help create delete export get list pause replace resume trigger'],
      ['orchestrator schedules create nightly --overlap b', 'buffer_one'],
      ['orchestrator schedules list --paused ', 'false true'],
    ];
    const body = cases
      .map(([line]) => `COMP_WORDS=(${line.split(' ').map((x) => `'${x}'`).join(' ')}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _orchestrator; echo "\${COMPREPLY[*]}"`)
      .join('\n');
    const r = spawnSync('bash', ['-c', `${script}\n${body}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = r.stdout.trimEnd().split('\n').map((l) => l.split(' ').sort().join(' '));
    assert.deepEqual(got, cases.map(([, want]) => want.split(' ').sort().join(' ')));
  });
});
