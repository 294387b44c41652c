import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { CompactSign, SignJWT, base64url, generateKeyPair } from 'jose';
import { ApiError } from '../core/index.js';
import { createVerifier, type Verifier } from './verifier.js';
import {
  AUDIENCE,
  ISSUER,
  assert401,
  createTestKit,
  fixedClock,
  goodClaims,
  makeKey,
  rawToken,
  signWith,
  type TestKey,
  type TestKit,
} from './testkit.js';

let kit: TestKit;
let v: Verifier;
let attacker: TestKey;
let server: Server;
let hits = 0;
let url = '';
const bearer = (t: string): string => `Bearer ${t}`;

before(async () => {
  kit = await createTestKit();
  v = createVerifier({ jwksFile: kit.jwksFile, issuer: ISSUER, audience: AUDIENCE, clock: fixedClock });
  attacker = await makeKey('ES256');
  server = createServer((_req, res) => {
    hits++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [attacker.publicJwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
});
after(async () => {
  kit.cleanup();
  await new Promise((r) => server.close(r));
});

describe('algorithm attacks', () => {
  test('alg none (with and without a signature part) is rejected', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      await assert401(v.verify(bearer(rawToken({ alg, typ: 'JWT' }, goodClaims()))));
      await assert401(v.verify(bearer(rawToken({ alg, typ: 'JWT' }, goodClaims(), 'AAAA'))), { cause: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    }
  });

  test('HS256 signed with the RSA public key bytes as secret (RS/HS confusion) is rejected', async () => {
    for (const secret of [kit.rsaPublicPem, JSON.stringify(kit.keys.RS256.publicJwk)]) {
      for (const kid of [kit.keys.RS256.kid, undefined]) {
        const t = await new SignJWT(goodClaims())
          .setProtectedHeader({ alg: 'HS256', ...(kid ? { kid } : {}) })
          .sign(new TextEncoder().encode(secret));
        await assert401(v.verify(bearer(t)), { message: 'invalid token', cause: 'ERR_JOSE_ALG_NOT_ALLOWED' });
      }
    }
  });

  test('a symmetric key in the JWKS file is never used (HS256 with its secret fails)', async () => {
    const secret = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA';
    const file = join(kit.dir, 'with-oct.json');
    const keys = [...Object.values(kit.keys).map((k) => k.publicJwk), { kty: 'oct', k: secret, kid: 'hs', alg: 'HS256' }];
    writeFileSync(file, JSON.stringify({ keys }));
    const withOct = createVerifier({ jwksFile: file, clock: fixedClock });
    const t = await new SignJWT(goodClaims()).setProtectedHeader({ alg: 'HS256', kid: 'hs' }).sign(base64url.decode(secret));
    await assert401(withOct.verify(bearer(t)));
    assert.ok(await withOct.verify(bearer(await kit.sign('ES256', goodClaims()))));
  });

  test('algorithms outside ES256/EdDSA/RS256 are rejected even with a trusted kid', async () => {
    const p384 = await generateKeyPair('ES384');
    const t384 = await new SignJWT(goodClaims()).setProtectedHeader({ alg: 'ES384', kid: kit.keys.ES256.kid }).sign(p384.privateKey);
    await assert401(v.verify(bearer(t384)), { cause: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    const tEd = await new SignJWT(goodClaims())
      .setProtectedHeader({ alg: 'Ed25519', kid: kit.keys.EdDSA.kid })
      .sign(kit.keys.EdDSA.privateKey);
    await assert401(v.verify(bearer(tEd)), { cause: 'ERR_JOSE_ALG_NOT_ALLOWED' });
  });

  test('swapping the alg header of a valid token is rejected', async () => {
    const [, payload, sig] = (await kit.sign('ES256', goodClaims())).split('.');
    const header = base64url.encode(JSON.stringify({ alg: 'RS256', kid: kit.keys.RS256.kid }));
    await assert401(v.verify(bearer(`${header}.${payload}.${sig}`)));
  });
});

describe('key selection', () => {
  test('a kid that is not in the JWKS is rejected (even if the signature is by a trusted key)', async () => {
    await assert401(v.verify(bearer(await kit.sign('ES256', goodClaims(), { kid: 'not-a-known-kid' }))), {
      cause: 'ERR_JWKS_NO_MATCHING_KEY',
    });
    await assert401(v.verify(bearer(await kit.sign('RS256', goodClaims(), { kid: kit.keys.ES256.kid }))));
  });

  test('kids with path, SQL or oversized text are just unknown kids', async () => {
    for (const kid of ['../../../../etc/passwd', "' OR '1'='1' --", 'a\u0000b', 'k'.repeat(2000), '%2e%2e%2f']) {
      await assert401(v.verify(bearer(await kit.sign('ES256', goodClaims(), { kid }))), { cause: 'ERR_JWKS_NO_MATCHING_KEY' });
    }
    await assert401(v.verify(bearer(rawToken({ alg: 'ES256', kid: 1 }, goodClaims(), 'AAAA'))));
  });

  test('a token signed by an attacker key is rejected whatever it claims', async () => {
    await assert401(v.verify(bearer(await signWith(attacker, goodClaims()))));
    await assert401(v.verify(bearer(await signWith(attacker, goodClaims(), { kid: kit.keys.ES256.kid }))));
  });

  test('jku / x5u headers are never fetched; the attacker key they point to is not trusted', async () => {
    for (const header of [{ jku: url }, { x5u: url }, { jku: url, x5u: url, kid: attacker.kid }]) {
      // Without a kid, the local ES256 key is tried and the signature fails.
      await assert401(v.verify(bearer(await signWith(attacker, goodClaims(), { ...header, kid: undefined }))), {
        cause: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      });
      await assert401(v.verify(bearer(await signWith(attacker, goodClaims(), header))), {
        cause: 'ERR_JWKS_NO_MATCHING_KEY', // the attacker's kid is not in the local JWKS
      });
    }
    // A legitimately signed token that carries them is judged on its real signature only.
    const legit = await kit.sign('ES256', goodClaims(), { jku: url, x5u: url });
    assert.equal((await v.verify(bearer(legit))).subject, 'alice');
    assert.equal(hits, 0, 'no request may reach the URL of a jku/x5u header');
  });

  test('an embedded jwk / x5c header is ignored: a token signed by the embedded key fails', async () => {
    const { kid: _kid, alg: _alg, use: _use, ...embedded } = attacker.publicJwk;
    for (const header of [
      { jwk: embedded, kid: undefined },
      { jwk: embedded },
      { x5c: ['MIIBszCCAVmgAwIBAgIU'], kid: undefined },
    ]) {
      await assert401(v.verify(bearer(await signWith(attacker, goodClaims(), header))), {
        cause: 'kid' in header ? 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' : 'ERR_JWKS_NO_MATCHING_KEY',
      });
    }
  });
});

describe('integrity', () => {
  test('a tampered payload is rejected', async () => {
    const [h, , s] = (await kit.sign('ES256', goodClaims())).split('.');
    const forged = base64url.encode(JSON.stringify(goodClaims({ sub: 'mallory', scope: 'orchestrator:admin', 'stellaops:tenant': '*' })));
    await assert401(v.verify(bearer(`${h}.${forged}.${s}`)));
  });

  test('a tampered signature is rejected (for every alg)', async () => {
    for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
      const [h, p, s] = (await kit.sign(alg, goodClaims())).split('.') as [string, string, string];
      const i = Math.floor(s.length / 2);
      const flipped = s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
      await assert401(v.verify(bearer(`${h}.${p}.${flipped}`)));
      await assert401(v.verify(bearer(`${h}.${p}.${s.slice(0, -4)}`)));
    }
  });

  test('an unknown crit header is rejected', async () => {
    const t = await new SignJWT(goodClaims())
      .setProtectedHeader({ alg: 'ES256', kid: kit.keys.ES256.kid, crit: ['urn:stella:x'], 'urn:stella:x': true })
      .sign(kit.keys.ES256.privateKey, { crit: { 'urn:stella:x': true } });
    await assert401(v.verify(bearer(t)), { cause: 'ERR_JOSE_NOT_SUPPORTED' });
  });

  test('a signed payload that is not a JSON object is rejected', async () => {
    for (const body of ['[]', '"str"', '42', 'null', 'not json']) {
      const t = await new CompactSign(new TextEncoder().encode(body))
        .setProtectedHeader({ alg: 'ES256', kid: kit.keys.ES256.kid })
        .sign(kit.keys.ES256.privateKey);
      await assert401(v.verify(bearer(t)));
    }
  });

  test('random input never escapes as anything but a 401', async () => {
    const part = fc.string({ unit: fc.constantFrom(...'AZaz09-_=.+/ '.split('')), maxLength: 60 });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), part.map((s) => `Bearer ${s}`), fc.tuple(part, part, part).map((xs) => `Bearer ${xs.join('.')}`)), async (h) => {
        const e = await v.verify(h).then(() => undefined, (err: unknown) => err);
        return e instanceof ApiError && e.code === 'UNAUTHENTICATED';
      }),
      { numRuns: 500 },
    );
  });
});

describe('reload (key rotation)', () => {
  test('reload swaps the key set; a broken file keeps the current keys', async () => {
    const file = join(kit.dir, 'rotating.json');
    writeFileSync(file, JSON.stringify({ keys: [kit.keys.ES256.publicJwk] }));
    const r = createVerifier({ jwksFile: file, clock: fixedClock });
    const oldToken = await kit.sign('ES256', goodClaims());
    const newToken = await kit.sign('EdDSA', goodClaims());
    assert.ok(await r.verify(bearer(oldToken)));
    await assert401(r.verify(bearer(newToken)));

    writeFileSync(file, JSON.stringify({ keys: [kit.keys.EdDSA.publicJwk] }));
    r.reload();
    await assert401(r.verify(bearer(oldToken)));
    assert.ok(await r.verify(bearer(newToken)));

    writeFileSync(file, '{broken');
    assert.throws(() => r.reload(), /not valid JSON/);
    assert.ok(await r.verify(bearer(newToken)));
  });
});
