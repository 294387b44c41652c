/**
 * Auth operations: a refused token is logged with its reason server-side while the client's
 * answer stays the generic 401; `orchestrator token` refuses a data folder never served with
 * --dev (creating nothing); a server that cannot start because of its configuration creates
 * nothing in the data folder.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { mintToken } from '../../src/auth/index.js';
import { makeKey, signWith } from '../../src/auth/testkit.js';
import { parseFlags } from '../../src/cli/args.js';
import { SERVE_FLAGS, serveConfig } from '../../src/cli/config.js';
import { startServer } from '../../src/cli/server.js';
import { captureLogger } from '../helpers/log-capture.js';
import { BASE } from '../helpers/base.js';
import { PROGRAM_ARGS } from '../helpers/program.js';

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'orch-authops-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The CLI as a child process (../helpers/program.ts). */
function cli(args: string[]) {
  return spawnSync(process.execPath, [...PROGRAM_ARGS, ...args], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
}

test('a refused token is logged with its reason; the client gets the same generic 401 as before', async () => {
  const { logger, lines } = captureLogger();
  const dataDir = mkdtempSync(join(tmp, 'data-'));
  const { flags } = parseFlags(['--dev', '--port', '0', '--data-dir', dataDir, '--workers', '1'], SERVE_FLAGS, {});
  const server = await startServer(serveConfig(flags), logger);
  try {
    const k = server.devKeys!;
    const base = { privateKeyPem: k.privateKeyPem, kid: k.kid, tenants: 'a', scopes: 'orchestrator:admin', issuer: k.issuer, audience: k.audience };
    const stranger = await makeKey('ES256');
    const cases: Array<[string, string, RegExp]> = [
      ['expired', await mintToken({ ...base, ttlSec: 1, now: Date.now() - 3600_000 }), /^expired$/],
      ['wrong aud', await mintToken({ ...base, audience: 'someone-else' }), /^wrong aud$/],
      ['wrong iss', await mintToken({ ...base, issuer: 'https://evil.example' }), /^wrong iss$/],
      ['unknown kid', await signWith(stranger, { exp: Math.floor(Date.now() / 1000) + 60, aud: k.audience, iss: k.issuer }), /^unknown kid/],
      ['malformed', 'not-a-jwt', /^malformed token$/],
    ];
    for (const [name, tok, reason] of cases) {
      const before = lines.length;
      const res = await fetch(`${server.url}${BASE}/dags`, { headers: { authorization: `Bearer ${tok}`, 'x-stella-tenant': 'a' } });
      const body = (await res.json()) as { error: { code: string; message: string; trace_id: string } };
      assert.equal(res.status, 401, name);
      assert.equal(body.error.code, 'UNAUTHENTICATED');
      // The client learns nothing more than before: no claim name, no kid, no "aud".
      assert.match(body.error.message, /^(invalid token|token expired|malformed token)$/, `${name}: ${body.error.message}`);
      assert.doesNotMatch(JSON.stringify(body), /aud|iss|kid|someone-else|evil/);
      const logged = lines.slice(before).find((l) => l.msg === 'token rejected');
      assert.ok(logged, `${name}: a "token rejected" line is logged`);
      assert.match(logged.reason, reason, `${name}: logged reason ${logged.reason}`);
      assert.equal(logged.level, 40, 'at warn');
      assert.equal(logged.trace_id, body.error.trace_id, 'the line carries the trace id the client was given');
      assert.equal(logged.route, '/dags');
      assert.ok(!JSON.stringify(logged).includes(tok.split('.')[1] ?? tok), `${name}: the token itself is never logged`);
    }
    const unknown = lines.find((l) => l.msg === 'token rejected' && /unknown kid/.test(l.reason));
    assert.equal(unknown?.kid, stranger.kid, 'an unknown kid is named, so an operator can see which key is missing');
  } finally {
    await server.close();
  }
});

test('`orchestrator token` refuses a data folder never served with --dev, exit 2, and creates nothing', () => {
  const fresh = join(tmp, 'never-served');
  const r = cli(['token', '--tenant', 'demo', '--data-dir', fresh]);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, '', 'no token printed');
  assert.match(r.stderr, /never served with --dev/);
  assert.match(r.stderr, /docs\/AUTH\.md/);
  assert.equal(existsSync(fresh), false, 'the data folder was not created');

  // A production folder (a database, no dev key) is refused the same way and left as it was.
  const prod = mkdtempSync(join(tmp, 'prod-'));
  writeFileSync(join(prod, 'orchestrator.db'), '');
  const r2 = cli(['token', '--tenant', 'demo', '--data-dir', prod]);
  assert.equal(r2.status, 2);
  assert.deepEqual(readdirSync(prod), ['orchestrator.db']);
});

test('`orchestrator token` on a folder served with --dev mints a token that server accepts', async () => {
  const dataDir = mkdtempSync(join(tmp, 'dev-'));
  const { flags } = parseFlags(['--dev', '--port', '0', '--data-dir', dataDir, '--workers', '1'], SERVE_FLAGS, {});
  const server = await startServer(serveConfig(flags), pino({ level: 'silent' }));
  try {
    const r = cli(['token', '--tenant', 'demo', '--scopes', 'orchestrator:read', '--data-dir', dataDir]);
    assert.equal(r.status, 0, r.stderr);
    const res = await fetch(`${server.url}${BASE}/dags`, { headers: { authorization: `Bearer ${r.stdout.trim()}`, 'x-stella-tenant': 'demo' } });
    assert.equal(res.status, 200);
  } finally {
    await server.close();
  }
});

test('a configuration that cannot start is refused before the data folder is touched', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['no --jwks', [], /--jwks/],
    ['a JWKS that is not JSON', ['--jwks', join(tmp, 'bad-jwks.json')], /not valid JSON/],
    ['a missing trust folder', ['--jwks', join(tmp, 'good-jwks.json'), '--trust-dir', join(tmp, 'no-such-trust')], /no-such-trust|ENOENT/],
    ['a bad scrape token file', ['--jwks', join(tmp, 'good-jwks.json'), '--metrics-token-file', join(tmp, 'short.token')], /metrics token file/],
  ];
  writeFileSync(join(tmp, 'bad-jwks.json'), '{');
  writeFileSync(join(tmp, 'short.token'), 'tiny');
  writeFileSync(join(tmp, 'good-jwks.json'), JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: 'k' }] }));
  for (const [name, args, reason] of cases) {
    const dataDir = join(tmp, `never-${name.replace(/\W+/g, '-')}`);
    const r = cli(['serve', '--port', '0', '--data-dir', dataDir, ...args]);
    assert.equal(r.status, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, /start-up failed/, name);
    assert.match(r.stderr, reason, name);
    assert.equal(existsSync(dataDir), false, `${name}: the data folder was not created`);
  }
});
