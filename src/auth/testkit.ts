/**
 * Test support for `src/auth/*.test.ts` (not part of the public face): real ES256, EdDSA and RS256
 * key pairs in a temp folder, a JWKS holding the three public keys, and token helpers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SignJWT,
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import { ApiError } from '../core/index.js';

export type TestAlg = 'ES256' | 'EdDSA' | 'RS256';

export interface TestKey {
  alg: TestAlg;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface TestKit {
  dir: string;
  jwksFile: string;
  keys: Record<TestAlg, TestKey>;
  rsaPublicPem: string;
  /** Signs `payload` with the key of `alg` (its kid in the header unless overridden). */
  sign(alg: TestAlg, payload: JWTPayload, header?: Partial<JWTHeaderParameters>): Promise<string>;
  cleanup(): void;
}

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'stella-orchestrator';
export const NOW_MS = Date.UTC(2026, 10, 28, 17, 17, 31, 123);
export const NOW = Math.floor(NOW_MS / 1000);
export const fixedClock = { now: () => NOW_MS };

/** A payload that passes every check of a verifier configured with ISSUER/AUDIENCE at NOW. */
export function goodClaims(extra: JWTPayload = {}): JWTPayload {
  return {
    sub: 'alice',
    iss: ISSUER,
    aud: AUDIENCE,
    iat: NOW,
    exp: NOW + 600,
    scope: 'orchestrator:read',
    'stellaops:tenant': 'demo',
    ...extra,
  };
}

export async function makeKey(alg: TestAlg): Promise<TestKey> {
  const opts = alg === 'EdDSA' ? { extractable: true, crv: 'Ed25519' } : { extractable: true };
  const { privateKey, publicKey } = await generateKeyPair(alg, opts);
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { alg, kid, privateKey, publicJwk: { ...publicJwk, kid, alg, use: 'sig' } };
}

export async function signWith(
  key: TestKey,
  payload: JWTPayload,
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey);
}

export async function createTestKit(): Promise<TestKit> {
  const dir = mkdtempSync(join(tmpdir(), 'stella-auth-'));
  const keys = {
    ES256: await makeKey('ES256'),
    EdDSA: await makeKey('EdDSA'),
    RS256: await makeKey('RS256'),
  };
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: Object.values(keys).map((k) => k.publicJwk) }));
  const rsaPublicPem = await exportSPKI((await importJWK(keys.RS256.publicJwk, 'RS256')) as CryptoKey);
  return {
    dir,
    jwksFile,
    keys,
    rsaPublicPem,
    sign: (alg, payload, header) => signWith(keys[alg], payload, header),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Builds a compact JWS from raw parts (for `alg: none` and hand-made headers). */
export function rawToken(header: object, payload: object, signature = ''): string {
  const enc = (o: object): string => base64url.encode(JSON.stringify(o));
  return `${enc(header)}.${enc(payload)}.${signature}`;
}

/** Asserts a 401 UNAUTHENTICATED with the right RFC 6750 challenge. */
export async function assert401(p: Promise<unknown>, opts: { missing?: boolean; message?: string; cause?: string } = {}): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected ApiError, got ${String(e)}`);
    assert.equal(e.code, 'UNAUTHENTICATED');
    assert.deepEqual(e.hints, { credentials: opts.missing ? 'missing' : 'invalid' });
    assert.equal(e.details, undefined);
    if (opts.message) assert.equal(e.message, opts.message);
    if (opts.cause) assert.equal(e.cause, opts.cause);
    return true;
  });
}
