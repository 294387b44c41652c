/**
 * Start-up of `orchestrator serve` as a real child process: `--dev` comes only from the
 * command line (never from ORCH_DEV); a start-up failure after the port is bound closes the
 * listener and exits non-zero with the reason; SIGTERM during start-up stops it at once
 * instead of after the whole preload.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags, usage } from '../../src/cli/args.js';
import { SERVE_FLAGS } from '../../src/cli/config.js';
import { Store } from '../../src/store/index.js';
import { testBundle } from '../../scripts/test-bundle.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'orch-startup-'));
after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

interface Proc {
  dataDir: string;
  /** Resolves with the URL once `listening on` is printed, or null if the process exits first. */
  listening: Promise<string | null>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): { out: string; err: string };
  kill(sig?: NodeJS.Signals): void;
}

/** `serve` from the esbuild bundle (fast start), with an environment of our choosing. */
async function serve(args: string[], env: Record<string, string> = {}): Promise<Proc> {
  const main = join(await testBundle(), 'main.cjs');
  const dataDir = mkdtempSync(join(tmp, 'data-'));
  const proc = spawn(process.execPath, [main, 'serve', '--port', '0', '--data-dir', dataDir, '--workers', '1', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const listening = new Promise<string | null>((resolve) => {
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (url) resolve(url);
    });
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
    void exited.then(() => resolve(null));
  });
  return { dataDir, listening, exited, output: () => ({ out, err }), kill: (sig = 'SIGKILL') => proc.kill(sig) };
}

/** Waits for the exit; a process still running after `ms` is killed and the test fails. */
async function exitOf(p: Proc, what: string, ms = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  const r = await Promise.race([p.exited, stuck]);
  clearTimeout(timer);
  if (r === null) {
    p.kill();
    assert.fail(`${what}: the process did not exit (still running after ${ms} ms):\n${JSON.stringify(p.output())}`);
  }
  return r;
}

test('--dev is taken only from the command line: ORCH_DEV is ignored (parser and usage)', () => {
  for (const v of ['true', '1', 'TRUE']) {
    assert.equal(parseFlags([], SERVE_FLAGS, { ORCH_DEV: v }).flags.dev, false, `ORCH_DEV=${v}`);
  }
  assert.equal(parseFlags(['--dev'], SERVE_FLAGS, {}).flags.dev, true);
  // Other flags still come from the environment.
  assert.equal(parseFlags([], SERVE_FLAGS, { ORCH_ALLOW_UNSIGNED: 'true' }).flags['allow-unsigned'], true);
  const help = usage('serve', '', SERVE_FLAGS);
  assert.doesNotMatch(help, /ORCH_DEV/);
  assert.match(help, /--dev.*command line only/);
});

test('ORCH_DEV=true without --dev: no dev mode, the server refuses to start without --jwks', async () => {
  const p = await serve([], { ORCH_DEV: 'true' });
  const url = await p.listening;
  if (url !== null) p.kill();
  assert.equal(url, null, 'the server must not listen in dev mode because of an environment variable');
  const { code } = await exitOf(p, 'ORCH_DEV');
  const { out, err } = p.output();
  assert.equal(code, 1);
  assert.match(err, /--jwks/);
  assert.doesNotMatch(out + err, /DEV MODE/);
});

test('a start-up failure after the port is bound closes the listener and exits 1 with the reason', async () => {
  const missing = join(tmp, 'no-such-dags-dir');
  const p = await serve(['--dev', '--dags-dir', missing]);
  const url = await p.listening;
  assert.ok(url, 'the port was bound before the preload failed');
  const { code, signal } = await exitOf(p, 'failed start-up');
  assert.equal(signal, null);
  assert.equal(code, 1);
  const { err } = p.output();
  assert.match(err, /start-up failed/);
  assert.match(err, /no-such-dags-dir/, 'the reason names what failed');
  await assert.rejects(fetch(`${url}/api/v1/orchestrator/admin/health`), 'nothing listens any more');
});

test('SIGTERM during start-up stops it between preloaded files and exits 0, instead of finishing the preload', async () => {
  const dagsDir = join(tmp, 'many');
  const tenantDir = join(dagsDir, 'demo');
  mkdirSync(tenantDir, { recursive: true });
  const N = 3000;
  for (let i = 0; i < N; i++) {
    const dagId = `d${String(i).padStart(5, '0')}`;
    writeFileSync(join(tenantDir, `${dagId}.json`), JSON.stringify({ dagId, version: '1.0.0', steps: [{ id: 's', plugin: 'noop' }] }));
  }
  const p = await serve(['--dev', '--allow-unsigned', '--dags-dir', dagsDir, '--log-level', 'warn']);
  assert.ok(await p.listening, 'listening (the preload runs after the port is bound)');
  p.kill('SIGTERM');
  const { code, signal } = await exitOf(p, 'SIGTERM during start-up');
  assert.equal(signal, null, 'it exited by itself, not by the signal');
  assert.equal(code, 0, JSON.stringify(p.output()));
  const store = Store.open({ dataDir: p.dataDir, lock: false });
  try {
    const stored = store.dags.count();
    assert.ok(stored < N, `start-up stopped before preloading all ${N} DAGs (stored ${stored})`);
  } finally {
    store.close();
  }
});
