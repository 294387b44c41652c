/**
 * Small things an operator trips on (#19): `orchestrator dag --help` lists the group, usage lines
 * name their FILE argument, no HSTS on plain HTTP, and the plugins a server loaded are logged
 * at start-up.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags } from '../../src/cli/args.js';
import { SERVE_FLAGS, serveConfig } from '../../src/cli/config.js';
import { startServer } from '../../src/cli/server.js';
import { captureLogger } from '../helpers/log-capture.js';
import { PROGRAM_ARGS } from '../helpers/program.js';

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'orch-details-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (...args: string[]) => spawnSync(process.execPath, [...PROGRAM_ARGS, ...args], { cwd: ROOT, encoding: 'utf8' });

test('`orchestrator dag --help` lists the dag commands; usage lines name FILE', () => {
  const r = cli('dag', '--help');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ {2}dag sign /m);
  assert.match(r.stdout, /^ {2}dag check /m);
  assert.doesNotMatch(r.stdout, /bundle/);
  for (const [cmd, line] of [
    [['dag', 'check'], 'usage: orchestrator dag check FILE [flags]'],
    [['bundle', 'import'], 'usage: orchestrator bundle import FILE [flags]'],
    [['events', 'verify'], 'usage: orchestrator events verify FILE [flags]'],
    [['import', 'runs'], 'usage: orchestrator import runs FILE [flags]'],
  ] as const) {
    const h = cli(...cmd, '--help');
    assert.equal(h.status, 0);
    assert.equal(h.stdout.split('\n')[0], line);
  }
  const bare = cli('bundle');
  assert.equal(bare.status, 1, 'a group without a command is still an error, with its commands listed');
  assert.match(bare.stderr, /bundle create/);
});

test('plain HTTP answers carry no Strict-Transport-Security; start-up logs the plugins loaded', async () => {
  const { logger, lines } = captureLogger();
  const dataDir = mkdtempSync(join(tmp, 'data-'));
  const plugins = join(ROOT, 'test', 'fixtures', 'plugins', 'good');
  const { flags } = parseFlags(['--dev', '--port', '0', '--data-dir', dataDir, '--workers', '1', '--plugins-dir', plugins], SERVE_FLAGS, {});
  const server = await startServer(serveConfig(flags), logger);
  try {
    for (const path of ['/api/v1/orchestrator/admin/health', '/api/v1/orchestrator/openapi.json', '/console/']) {
      const res = await fetch(server.url + path);
      await res.arrayBuffer();
      assert.equal(res.headers.get('strict-transport-security'), null, path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${path}: the other security headers stay`);
    }
    const loaded = lines.find((l) => l.msg === 'plugins: loaded');
    assert.ok(loaded, 'a "plugins: loaded" line');
    const refs = loaded.plugins.map((p: { ref: string }) => p.ref);
    for (const b of ['noop', 'echo', 'sleep', 'fail', 'artifact', 'exec']) assert.ok(refs.some((r: string) => r.startsWith(`${b}@`)), b);
    const operator = loaded.plugins.filter((p: { owner: string }) => p.owner === 'installation');
    assert.ok(operator.length > 0, 'the --plugins-dir plugins are listed as installation-wide');
    assert.ok(operator.every((p: { dir: string; hash: string }) => p.dir.startsWith(plugins) && /^[0-9a-f]{12}$/.test(p.hash)));
    assert.equal(loaded.count, loaded.plugins.length);
  } finally {
    await server.close();
  }
});
