import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createVerifier, type Verifier } from './verifier.js';
import {
  AUDIENCE,
  ISSUER,
  NOW,
  assert401,
  createTestKit,
  fixedClock,
  goodClaims,
  type TestKit,
} from './testkit.js';

let kit: TestKit;
let v: Verifier;
const bearer = (t: string): string => `Bearer ${t}`;

before(async () => {
  kit = await createTestKit();
  v = createVerifier({ jwksFile: kit.jwksFile, issuer: ISSUER, audience: AUDIENCE, clock: fixedClock });
});
after(() => kit.cleanup());

describe('valid tokens', () => {
  for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
    test(`${alg} token is accepted and mapped to a principal`, async () => {
      const p = await v.verify(bearer(await kit.sign(alg, goodClaims({ scope: 'orchestrator:write' }))));
      assert.equal(p.subject, 'alice');
      assert.deepEqual([...p.scopes].sort(), ['orchestrator:read', 'orchestrator:write']);
      assert.deepEqual(p.tenants, ['demo']);
      assert.equal(p.expiresAt, (NOW + 600) * 1000);
      assert.equal(p.claims?.sub, 'alice');
    });
  }

  test('a verified token answers the same frozen principal again until it expires, then is refused although remembered', async () => {
    let nowMs = NOW * 1000;
    const clocked = createVerifier({ jwksFile: kit.jwksFile, issuer: ISSUER, audience: AUDIENCE, clock: { now: () => nowMs } as typeof fixedClock });
    const header = bearer(await kit.sign('ES256', goodClaims()));
    const first = await clocked.verify(header);
    assert.equal(await clocked.verify(header), first, 'the remembered principal');
    assert.ok(Object.isFrozen(first));
    nowMs = (NOW + 600 + 61) * 1000; // past exp and the 60 s skew
    await assert401(clocked.verify(header));
  });

  test('a token without kid is verified against the JWKS keys of its alg', async () => {
    const t = await kit.sign('ES256', goodClaims(), { kid: undefined });
    assert.equal((await v.verify(bearer(t))).subject, 'alice');
  });

  test('scheme is case-insensitive; extra spaces around the token are tolerated', async () => {
    const t = await kit.sign('ES256', goodClaims());
    assert.equal((await v.verify(`bearer ${t}`)).subject, 'alice');
    assert.equal((await v.verify(`BEARER   ${t}  `)).subject, 'alice');
  });

  test('issuer and audience are not checked when not configured', async () => {
    const loose = createVerifier({ jwksFile: kit.jwksFile, clock: fixedClock });
    const t = await kit.sign('RS256', goodClaims({ iss: 'someone-else', aud: 'other' }));
    assert.equal((await loose.verify(bearer(t))).subject, 'alice');
  });

  test('audience matches one of an array of audiences', async () => {
    const t = await kit.sign('ES256', goodClaims({ aud: ['x', AUDIENCE] }));
    assert.equal((await v.verify(bearer(t))).subject, 'alice');
  });

  test('the system clock is used when none is given', async () => {
    const sys = createVerifier({ jwksFile: kit.jwksFile, issuer: ISSUER, audience: AUDIENCE });
    const now = Math.floor(Date.now() / 1000);
    const t = await kit.sign('EdDSA', goodClaims({ iat: now, exp: now + 60 }));
    assert.equal((await sys.verify(bearer(t))).subject, 'alice');
    await assert401(sys.verify(bearer(await kit.sign('EdDSA', goodClaims()))), { message: 'token expired' });
  });
});

describe('time claims (60 s skew)', () => {
  test('expired beyond the skew is rejected', async () => {
    const t = await kit.sign('ES256', goodClaims({ exp: NOW - 61 }));
    await assert401(v.verify(bearer(t)), { message: 'token expired' });
  });

  test('expired within the skew is accepted', async () => {
    const t = await kit.sign('ES256', goodClaims({ exp: NOW - 30 }));
    assert.equal((await v.verify(bearer(t))).expiresAt, (NOW - 30) * 1000);
  });

  test('nbf in the future beyond the skew is rejected, within it accepted', async () => {
    await assert401(v.verify(bearer(await kit.sign('ES256', goodClaims({ nbf: NOW + 120 })))), {
      message: 'token not yet valid',
    });
    assert.ok(await v.verify(bearer(await kit.sign('ES256', goodClaims({ nbf: NOW + 30 })))));
  });

  test('a token without exp is rejected', async () => {
    const claims = goodClaims();
    delete claims.exp;
    await assert401(v.verify(bearer(await kit.sign('ES256', claims))), { message: 'invalid token' });
  });

  test('a non-numeric exp is rejected', async () => {
    const t = await kit.sign('ES256', goodClaims({ exp: String(NOW + 600) as unknown as number }));
    await assert401(v.verify(bearer(t)));
  });

  test('a custom clock tolerance is honoured', async () => {
    const strict = createVerifier({ jwksFile: kit.jwksFile, clockToleranceSec: 0, clock: fixedClock });
    await assert401(strict.verify(bearer(await kit.sign('ES256', goodClaims({ exp: NOW - 1 })))));
  });
});

describe('issuer and audience', () => {
  test('wrong iss is rejected', async () => {
    await assert401(v.verify(bearer(await kit.sign('ES256', goodClaims({ iss: 'https://evil.test' })))), {
      message: 'invalid token',
    });
  });

  test('missing iss is rejected when an issuer is configured', async () => {
    const claims = goodClaims();
    delete claims.iss;
    await assert401(v.verify(bearer(await kit.sign('ES256', claims))));
  });

  test('wrong aud is rejected', async () => {
    await assert401(v.verify(bearer(await kit.sign('RS256', goodClaims({ aud: 'other-service' })))));
  });
});

describe('authorization header', () => {
  test('no header: 401 with a bare challenge', async () => {
    await assert401(v.verify(undefined), { missing: true, message: 'missing bearer token' });
    await assert401(v.verify(''), { missing: true });
    await assert401(v.verify('   '), { missing: true });
  });

  test('wrong scheme', async () => {
    const t = await kit.sign('ES256', goodClaims());
    await assert401(v.verify(`Basic ${Buffer.from('a:b').toString('base64')}`));
    await assert401(v.verify(`Token ${t}`), { message: 'unsupported authorization scheme' });
    await assert401(v.verify(`Bearer: ${t}`));
    await assert401(v.verify(t));
  });

  test('empty token after the scheme', async () => {
    await assert401(v.verify('Bearer'), { message: 'missing token' });
    await assert401(v.verify('Bearer    '), { message: 'missing token' });
  });

  test('garbage tokens', async () => {
    for (const g of [
      'garbage',
      'a.b',
      'a.b.c.d',
      'a..c',
      '...',
      'e30.e30.',
      'e30.e30.AAAA',
      '%%%.###.$$$',
      'Zm9v.YmFy.YmF6',
      'eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.AAAA',
      't1 t2',
      'abc\u0000.def.ghi',
      'a.b.c\nBearer x.y.z',
    ]) {
      await assert401(v.verify(`Bearer ${g}`));
    }
  });

  test('non-string header values never escape as a TypeError', async () => {
    for (const x of [42, {}, ['Bearer a.b.c'], null, Symbol('x')]) {
      await assert401(v.verify(x as unknown as string), { missing: x === null });
    }
  });

  test('a huge header is refused before parsing', async () => {
    const started = process.hrtime.bigint();
    await assert401(v.verify(`Bearer ${'a'.repeat(5_000_000)}.b.c`), { message: 'token too long' });
    await assert401(v.verify(`${'x'.repeat(5_000_000)}`), { message: 'token too long' });
    assert.ok(process.hrtime.bigint() - started < 1_000_000_000n);
  });

  test('an over-long but validly signed token is rejected; one under the limit passes', async () => {
    const long = await kit.sign('ES256', goodClaims({ pad: 'x'.repeat(7000) }));
    assert.ok(long.length > 8192);
    await assert401(v.verify(bearer(long)), { message: 'token too long' });
    const ok = await kit.sign('ES256', goodClaims({ pad: 'x'.repeat(5000) }));
    assert.ok(ok.length < 8192);
    assert.equal((await v.verify(bearer(ok))).subject, 'alice');
  });
});

describe('JWKS file', () => {
  test('an unusable JWKS file fails at creation with a config error', () => {
    const bad = join(kit.dir, 'bad.json');
    for (const [content, why] of [
      ['not json', /not valid JSON/],
      ['{"nokeys":1}', /no "keys" array/],
      ['{"keys":[]}', /no usable public key/],
      ['{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}', /no usable public key/],
      ['{"keys":[1]}', /not an object/],
      ['{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]}', /private key material/],
    ] as const) {
      writeFileSync(bad, content);
      assert.throws(() => createVerifier({ jwksFile: bad }), why);
    }
    assert.throws(() => createVerifier({ jwksFile: join(kit.dir, 'missing.json') }), /cannot be read \(ENOENT\)/);
  });
});
