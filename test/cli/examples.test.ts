/**
 * Every documented example is run: the `sh` blocks of docs/CLI.md (in order, in one bash
 * session, `set -euo pipefail`), the README's client block, and every example that a
 * command's `--help` prints. The world is the one `npm start` makes: a `--dev` server with the
 * sample DAGs of `fixtures/dags/` preloaded into tenant `demo`, its data folder `./data`, run
 * from a folder that has the checkout's `fixtures/`; `orchestrator` on the PATH runs the CLI
 * as the server bundle built from source, as test/docs/ runs it (one file loads in a fraction
 * of the time tsx takes to load src/ in each of the dozens of processes). The only rewrite:
 * the default address `http://127.0.0.1:8080` becomes the test server's (it listens on port 0),
 * and the PostgreSQL URL of the store examples a fresh database of the test cluster (test/helpers/pg.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { COMMANDS } from '../../src/cli/index.js';
import { testBundle } from '../../scripts/test-bundle.mjs';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { cleanEnv, ROOT } from './helpers.js';
import { pgBinDir, testDatabase } from '../helpers/pg.js';

const DEFAULT_SERVER = 'http://127.0.0.1:8080';
/** The PostgreSQL database the examples name; rewritten to a fresh database of the test cluster. */
const DEFAULT_POSTGRES = 'postgres://orch@127.0.0.1:5432/orch';
/** Commands whose examples need PostgreSQL. */
const NEEDS_POSTGRES = new Set(['migrate', 'store copy']);

/** The fenced blocks of one language in a Markdown file. */
function blocks(file: string, lang: string): string[] {
  const re = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm');
  return [...readFileSync(join(ROOT, file), 'utf8').matchAll(re)].map((m) => m[1]!);
}

/** Commands in the order their examples can run (later ones use what earlier ones made). */
const ORDER = [
  'serve', 'token', 'keys generate', 'dag sign', 'dag check', 'dags list', 'dags get', 'dags publish', 'dags disable',
  'runs start', 'runs list', 'runs get', 'runs logs', 'runs cancel', 'artifacts get', 'events tail',
  'schedules create', 'schedules list', 'schedules get', 'schedules replace', 'schedules pause', 'schedules resume',
  'schedules trigger', 'schedules export', 'schedules delete',
  'export runs', 'export dags', 'export events', 'events verify', 'bundle create', 'bundle verify', 'bundle import',
  'import runs', 'export archive', 'import archive', 'backup', 'backup verify', 'restore', 'upgrade', 'migrate', 'store copy', 'completion bash',
];

/** What an example needs first (shell lines run before the command's examples). */
const SETUP: Record<string, string> = {
  'runs get': 'RUN=$(orchestrator runs start hello --quiet --wait)', // `runs logs` reads the same run
  'runs cancel': 'RUN=$(orchestrator runs start nightly --quiet)',
  'artifacts get':
    'HASH=$(orchestrator runs start image-scan --input image=registry.local/app:1 --wait --output json | jq -r \'.steps[] | select(.stepId == "merge-report") | .outputs.hash\')',
};

describe('documented examples', () => {
  let t: TestServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  /** Runs a bash script in the examples' folder; stdout, stderr and exit code. */
  function bash(script: string, extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('bash', ['-c', `set -euo pipefail\n${script}`], { cwd: dir, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orch-cli-examples-'));
    // As an operator's installation folder: plugin hosts (nobody, when root) reach ./data-work through it.
    chmodSync(dir, 0o711);
    symlinkSync(join(ROOT, 'fixtures'), join(dir, 'fixtures'));
    mkdirSync(join(dir, 'data'));
    mkdirSync(join(dir, 'bin'));
    const wrapper = join(dir, 'bin', 'orchestrator');
    writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' '${join(await testBundle(), 'main.cjs')}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    t = await startTestServer(['--dags-dir', join(ROOT, 'fixtures', 'dags')], {}, undefined, join(dir, 'data'));
    env = cleanEnv({ PATH: `${join(dir, 'bin')}:${process.env.PATH}`, HOME: dir });
  });
  after(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('docs/CLI.md: every sh block, in order, in one session', async () => {
    const found = blocks('docs/CLI.md', 'sh');
    assert.ok(found.length >= 7, `${found.length} sh blocks`);
    const script = found.map((b, i) => `echo "### docs/CLI.md block ${i + 1}" >&2\n${b.replaceAll(DEFAULT_SERVER, t.url)}`).join('\n');
    const r = await bash(script);
    assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.match(r.stdout, /^policies refreshed$/m);
    assert.match(r.stdout, /^cancel rejected \(exit 3\)$/m);
    assert.match(readFileSync(join(dir, 'report.md'), 'utf8'), /^# Image scan report\n/);
    assert.match(r.stderr, /published nightly@1\.1\.0/);
  });

  test("README: the operator's first commands", async () => {
    const client = blocks('README.md', 'sh').filter((b) => b.includes('orchestrator runs start'));
    assert.equal(client.length, 1);
    const r = await bash(client[0]!, { ORCH_SERVER: t.url });
    assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.match(r.stdout, /^run [0-9a-f-]{36}  hello@1\.0\.0 {2}queued$/m);
  });

  test('--help examples of every command (after the docs, whose files and DAGs they use)', async (ctx) => {
    const pgDb = pgBinDir() ? await testDatabase(ctx) : null;
    if (pgDb) after(() => pgDb.drop());
    else if (process.env.CI) assert.fail('PostgreSQL is not installed: the examples of migrate and store copy cannot run');
    else ctx.diagnostic('PostgreSQL not installed here: the examples of migrate and store copy were not run');
    assert.deepEqual([...ORDER].sort(), COMMANDS.map((c) => c.name).sort(), 'ORDER names every command');
    const lines: string[] = [`export ORCH_SERVER=${t.url}`, 'export ORCH_TOKEN=$(orchestrator token --tenant demo --scopes orchestrator:admin)'];
    for (const name of ORDER) {
      const cmd = COMMANDS.find((c) => c.name === name)!;
      assert.ok(cmd.examples?.length, `${name} has an example`);
      if (SETUP[name]) lines.push(SETUP[name]!);
      if (NEEDS_POSTGRES.has(name) && !pgDb) continue;
      for (const raw of cmd.examples!) {
        const example = pgDb ? raw.replaceAll(DEFAULT_POSTGRES, pgDb.url) : raw;
        lines.push(`echo "### ${name}: ${example.replace(/["$`\\]/g, '\\$&')}" >&2`);
        if (name === 'serve') {
          // A server runs until stopped: start it, wait for its address, stop it, expect exit 0.
          lines.push(`${example} > serve.out 2>&1 &`, 'pid=$!', 'until grep -q "listening on" serve.out; do kill -0 $pid; sleep 0.1; done', 'kill -TERM $pid', 'wait $pid');
        } else lines.push(example);
      }
    }
    assert.ok(existsSync(join(dir, 'nightly.json')), 'the docs test ran first');
    const r = await bash(lines.join('\n'));
    assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.stdout.slice(-4000)}\nstderr:\n${r.stderr.slice(-4000)}`);
  });
});
