import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { DEV_AUDIENCE, DEV_ISSUER, ensureDevKeys, mintToken } from './dev.js';
import { createVerifier } from './verifier.js';
import { assert401 } from './testkit.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'stella-dev-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const posix = process.platform !== 'win32';

test('ensureDevKeys creates a 0600 ES256 key and a public JWKS whose kid is the RFC 7638 thumbprint', async () => {
  const data = tempDir();
  const dev = await ensureDevKeys(data);
  assert.equal(dev.jwksFile, join(data, 'dev', 'jwks.json'));
  assert.equal(dev.issuer, 'stella-dev');
  assert.equal(dev.audience, 'stella-orchestrator');
  assert.match(dev.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
  assert.equal(readFileSync(join(data, 'dev', 'jwt-private.pem'), 'utf8'), dev.privateKeyPem);
  if (posix) {
    assert.equal(statSync(join(data, 'dev', 'jwt-private.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(join(data, 'dev')).mode & 0o077, 0);
  }
  const jwks = JSON.parse(readFileSync(dev.jwksFile, 'utf8')) as { keys: JWK[] };
  assert.equal(jwks.keys.length, 1);
  const [key] = jwks.keys as [JWK];
  assert.equal(key.kid, dev.kid);
  assert.equal(key.alg, 'ES256');
  assert.equal(key.crv, 'P-256');
  assert.equal('d' in key, false);
  assert.equal(await calculateJwkThumbprint({ kty: key.kty!, crv: key.crv!, x: key.x!, y: key.y! }), dev.kid);
});

test('ensureDevKeys is idempotent: files are reused, not rewritten', async () => {
  const data = tempDir();
  const first = await ensureDevKeys(data);
  const mtimes = [statSync(first.jwksFile).mtimeMs, statSync(join(data, 'dev', 'jwt-private.pem')).mtimeMs];
  await new Promise((r) => setTimeout(r, 20));
  const second = await ensureDevKeys(data);
  assert.deepEqual(second, first);
  assert.deepEqual([statSync(first.jwksFile).mtimeMs, statSync(join(data, 'dev', 'jwt-private.pem')).mtimeMs], mtimes);
});

test('concurrent first calls agree on one key', async () => {
  const data = tempDir();
  const all = await Promise.all(Array.from({ length: 6 }, () => ensureDevKeys(data)));
  assert.equal(new Set(all.map((d) => d.kid)).size, 1);
  assert.equal((await ensureDevKeys(data)).kid, all[0]!.kid);
});

test('a missing or foreign JWKS is rebuilt from the existing private key; loose permissions are tightened', async () => {
  const data = tempDir();
  const dev = await ensureDevKeys(data);
  unlinkSync(dev.jwksFile);
  assert.equal((await ensureDevKeys(data)).kid, dev.kid);
  writeFileSync(dev.jwksFile, '{"keys":[{"kty":"EC","kid":"other"}]}');
  await ensureDevKeys(data);
  assert.equal((JSON.parse(readFileSync(dev.jwksFile, 'utf8')) as { keys: JWK[] }).keys[0]!.kid, dev.kid);
  if (posix) {
    chmodSync(join(data, 'dev', 'jwt-private.pem'), 0o644);
    await ensureDevKeys(data);
    assert.equal(statSync(join(data, 'dev', 'jwt-private.pem')).mode & 0o777, 0o600);
  }
});

test('a private key file that is not P-256 is refused', async () => {
  const data = tempDir();
  await ensureDevKeys(data);
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(data, 'dev', 'jwt-private.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
  await assert.rejects(ensureDevKeys(data), /not an ES256 \(P-256\) private key/);
});

test('mintToken: an ES256 admin token for demo that the dev verifier accepts', async () => {
  const dev = await ensureDevKeys(tempDir());
  const token = await mintToken({ ...dev, tenants: 'demo', scopes: ['orchestrator:admin'] });
  assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', kid: dev.kid, typ: 'JWT' });
  const claims = decodeJwt(token);
  assert.equal(claims.exp! - claims.iat!, 3600);
  assert.equal(claims.iss, DEV_ISSUER);
  assert.equal(claims.aud, DEV_AUDIENCE);
  assert.equal(claims['stellaops:tenant'], 'demo');
  assert.equal(typeof claims.jti, 'string');

  const v = createVerifier({ jwksFile: dev.jwksFile, issuer: dev.issuer, audience: dev.audience });
  const p = await v.verify(`Bearer ${token}`);
  assert.equal(p.subject, 'dev');
  assert.deepEqual([...p.scopes].sort(), ['orchestrator:admin', 'orchestrator:read', 'orchestrator:write']);
  assert.deepEqual(p.tenants, ['demo']);
  assert.equal(p.expiresAt, claims.exp! * 1000);
});

test('mintToken options: tenants lists and "*", scope string, ttl, subject, issuer/audience, now', async () => {
  const dev = await ensureDevKeys(tempDir());
  const v = createVerifier({ jwksFile: dev.jwksFile, issuer: dev.issuer, audience: dev.audience });
  const multi = await mintToken({ ...dev, tenants: 'a, b,a', scopes: 'orchestrator:read orchestrator:write', subject: 'ci' });
  const p = await v.verify(`Bearer ${multi}`);
  assert.deepEqual(p.tenants, ['a', 'b']);
  assert.equal(p.subject, 'ci');
  assert.deepEqual([...p.scopes].sort(), ['orchestrator:read', 'orchestrator:write']);

  assert.equal((await v.verify(`Bearer ${await mintToken({ ...dev, tenants: ['*'], scopes: [] })}`)).tenants, '*');
  assert.equal(decodeJwt(await mintToken({ ...dev, tenants: 'x', scopes: [], ttlSec: 60 })).exp! - Math.floor(Date.now() / 1000) <= 60, true);

  const old = await mintToken({ ...dev, tenants: 'demo', scopes: [], ttlSec: 60, now: Date.now() - 3_600_000 });
  await assert401(v.verify(`Bearer ${old}`), { message: 'token expired' });
  const other = await mintToken({ ...dev, tenants: 'demo', scopes: [], issuer: 'someone', audience: 'else' });
  await assert401(v.verify(`Bearer ${other}`));
});

test('mintToken refuses unknown scopes, invalid tenants and bad ttls', async () => {
  const dev = await ensureDevKeys(tempDir());
  await assert.rejects(mintToken({ ...dev, tenants: 'demo', scopes: ['orchestrator:root'] }), /unknown scope/);
  await assert.rejects(mintToken({ ...dev, tenants: 'Demo', scopes: [] }), /invalid tenant/);
  await assert.rejects(mintToken({ ...dev, tenants: '../x', scopes: [] }), /invalid tenant/);
  for (const ttlSec of [0, -1, 1.5, 31 * 24 * 3600, Number.NaN]) {
    await assert.rejects(mintToken({ ...dev, tenants: 'demo', scopes: [], ttlSec }), /ttlSec/);
  }
});

test('a token from another data folder\'s dev key is rejected', async () => {
  const a = await ensureDevKeys(tempDir());
  const b = await ensureDevKeys(tempDir());
  const v = createVerifier({ jwksFile: a.jwksFile, issuer: a.issuer, audience: a.audience });
  await assert401(v.verify(`Bearer ${await mintToken({ ...b, tenants: 'demo', scopes: ['orchestrator:admin'] })}`));
  await assert401(v.verify(`Bearer ${await mintToken({ ...b, kid: a.kid, tenants: 'demo', scopes: [] })}`));
});
