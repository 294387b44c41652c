/**
 * SIGHUP on a real `orchestrator serve` child process (non-dev, its own JWKS): the JWKS, the
 * trust folders and the scrape token file are re-read and what changed is logged; a bad new
 * file keeps the old one, logs why, and the server keeps serving. SIGHUP never stops it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKeyPair } from '../../src/dags/index.js';
import { makeKey, signWith, type TestKey } from '../../src/auth/testkit.js';
import { BASE } from '../helpers/base.js';
import { startServer, type ServeChild } from '../helpers/serve-child.js';
import { until } from '../helpers/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'orch-reload-'));
after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const ISS = 'https://idp.example';
const AUD = 'stella-orchestrator';
const jwksFile = join(tmp, 'jwks.json');
const trustDir = join(tmp, 'trust');
const scrapeFile = join(tmp, 'metrics.token');
const writeJwks = (...keys: TestKey[]) => writeFileSync(jwksFile, JSON.stringify({ keys: keys.map((k) => k.publicJwk) }));
const token = (key: TestKey) =>
  signWith(key, { sub: 'ops', iss: ISS, aud: AUD, exp: Math.floor(Date.now() / 1000) + 600, scope: 'orchestrator:admin', 'stellaops:tenant': '*' });

async function start(): Promise<ServeChild> {
  const dataDir = mkdtempSync(join(tmp, 'data-'));
  const args = ['--port', '0', '--data-dir', dataDir, '--workers', '1', '--jwks', jwksFile, '--issuer', ISS, '--audience', AUD];
  return startServer([...args, '--trust-dir', trustDir, '--metrics-token-file', scrapeFile], ROOT);
}

async function get(s: ServeChild, path: string, bearer: string): Promise<number> {
  const res = await fetch(s.url + BASE + path, { headers: { authorization: `Bearer ${bearer}` } });
  await res.arrayBuffer();
  return res.status;
}

/** The log lines of the n-th reload of a part (1-based), once it is logged. */
async function reloadLine(s: ServeChild, part: string, n: number): Promise<Record<string, any>> {
  let found: Record<string, any> | undefined;
  await until(() => {
    const lines = s.logs().filter((l) => l.part === part && /^reload: /.test(l.msg));
    found = lines[n - 1];
    return found !== undefined;
  }, `reload #${n} of ${part} logged`);
  return found!;
}

test('SIGHUP reloads the JWKS, trust folders and scrape token, logs what changed, keeps the old on a bad file', async () => {
  const keyA = await makeKey('ES256');
  const keyB = await makeKey('EdDSA');
  writeJwks(keyA);
  mkdirSync(trustDir, { recursive: true });
  writeFileSync(scrapeFile, 'a'.repeat(40) + '\n');
  const s = await start();
  try {
    const tokA = await token(keyA);
    const tokB = await token(keyB);
    assert.equal(await get(s, '/admin/metrics', tokA), 200);
    assert.equal(await get(s, '/admin/metrics', tokB), 401, 'key B is not in the JWKS yet');
    assert.equal(await get(s, '/admin/metrics', 'a'.repeat(40)), 200, 'the scrape token opens /admin/metrics');

    // Rotation: B replaces A; a trusted DAG key is added; the scrape token changes.
    writeJwks(keyB);
    const dagKey = generateSigningKeyPair('ed25519');
    writeFileSync(join(trustDir, 'release.pub'), dagKey.publicKeyPem);
    writeFileSync(scrapeFile, 'b'.repeat(40));
    s.hup();
    const jwks1 = await reloadLine(s, 'jwks', 1);
    assert.deepEqual(jwks1.added, [keyB.kid]);
    assert.deepEqual(jwks1.removed, [keyA.kid]);
    const trust1 = await reloadLine(s, 'trust', 1);
    assert.deepEqual(trust1.added, [`*:${dagKey.keyid}`]);
    assert.deepEqual(trust1.removed, []);
    const scrape1 = await reloadLine(s, 'metricsToken', 1);
    assert.equal(scrape1.changed, true);
    assert.equal(await get(s, '/admin/metrics', tokB), 200, 'the new key is used');
    assert.equal(await get(s, '/admin/metrics', tokA), 401, 'the removed key is not');
    assert.equal(await get(s, '/admin/metrics', 'b'.repeat(40)), 200, 'the new scrape token');
    assert.equal(await get(s, '/admin/metrics', 'a'.repeat(40)), 401, 'not the old one');
    assert.equal(await get(s, '/admin/health', 'b'.repeat(40)), 401, 'the scrape token opens nothing but metrics');

    // Bad files: each part keeps what it had and logs the error; the server serves on.
    writeFileSync(jwksFile, '{"keys": [ not json');
    writeFileSync(join(trustDir, 'broken.pem'), '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n');
    writeFileSync(scrapeFile, 'short');
    s.hup();
    for (const part of ['jwks', 'trust', 'metricsToken']) {
      const line = await reloadLine(s, part, 2);
      assert.equal(line.level, 50, `${part}: logged at error level`);
      assert.match(line.msg, /kept as it was/);
      assert.ok(typeof line.error === 'string' && line.error.length > 0, `${part}: the reason is logged`);
    }
    assert.match((await reloadLine(s, 'jwks', 2)).error, /not valid JSON/);
    assert.ok(s.alive(), 'the server is still running');
    assert.equal(await get(s, '/admin/metrics', tokB), 200, 'the keys in use are kept');
    assert.equal(await get(s, '/admin/metrics', 'b'.repeat(40)), 200, 'the scrape token in use is kept');
    assert.equal(await s.stop(), 0, 'SIGTERM still drains and exits 0');
  } finally {
    if (s.alive()) await s.stop();
  }
});
