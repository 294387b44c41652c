/**
 * Hostile world, authentication: every JWT attack of RFC 8725 (JWT BCP) against every route of
 * the route table that has a scope, over real HTTP. Each must be a 401 UNAUTHENTICATED
 * envelope with `WWW-Authenticate: Bearer …`, never a 500, never a 2xx; the server must never
 * fetch a key from a URL a token names (a local "attacker" JWKS server counts its hits: zero).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, base64url, exportJWK, type JWTHeaderParameters, type JWTPayload } from 'jose';
import WebSocket from 'ws';
import { AUDIENCE, ISSUER, createTestKit, makeKey, rawToken, type TestKey, type TestKit } from '../../src/auth/testkit.js';
import type { RouteDef } from '../../src/http/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { BASE, assertAlive, assertEnvelope, concrete, jsonOf, takesBody } from './support.js';

let t: TestServer;
let kit: TestKit;
let attacker: TestKey;
let jwksServer: Server;
let jwksHits = 0;
let jwksUrl = '';
let routes: RouteDef[];

before(async () => {
  kit = await createTestKit();
  attacker = await makeKey('ES256');
  jwksServer = createServer((req, res) => {
    jwksHits++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [attacker.publicJwk] }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  // The trusted keys are the kit's ES256, EdDSA and RS256 public keys; iss and aud are enforced.
  t = await startTestServer(['--jwks', kit.jwksFile, '--issuer', ISSUER, '--audience', AUDIENCE, '--allow-unsigned']);
  routes = t.server.routes.filter((r) => r.scope !== null);
});
after(async () => {
  await t.stop();
  kit.cleanup();
  await new Promise((r) => jwksServer.close(r));
});

const now = () => Math.floor(Date.now() / 1000);

/** Claims that pass every check (admin, every tenant). */
function claims(extra: JWTPayload = {}): JWTPayload {
  return {
    sub: 'mallory',
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now(),
    exp: now() + 600,
    scope: 'orchestrator:admin',
    'stellaops:tenant': '*',
    ...extra,
  };
}

function sign(key: TestKey, payload: JWTPayload, header: Partial<JWTHeaderParameters> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey);
}

/** Signs any header and payload with an ES256 key, bypassing jose's own header checks. */
async function signRaw(key: TestKey, header: Record<string, unknown>, payload: unknown): Promise<string> {
  const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}`;
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, new TextEncoder().encode(input));
  return `${input}.${base64url.encode(new Uint8Array(sig))}`;
}

function hs256(secret: string | Uint8Array, header: Record<string, unknown> = {}, payload = claims()): Promise<string> {
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', ...header } as JWTHeaderParameters).sign(bytes);
}

/** The attacks, by name. Each is a full `Authorization` header value. */
async function attacks(): Promise<Record<string, string>> {
  const es = kit.keys.ES256;
  const good = await sign(es, claims());
  const [, goodPayload] = good.split('.');
  const out: Record<string, string> = {};
  const bearer = (x: string) => `Bearer ${x}`;

  // alg none, every spelling, with and without a signature part, with and without a trusted kid.
  for (const alg of ['none', 'None', 'NONE', 'nOnE', 'none ', '']) {
    out[`alg "${alg}" unsigned`] = bearer(rawToken({ alg, typ: 'JWT' }, claims()));
    out[`alg "${alg}" with junk signature`] = bearer(rawToken({ alg, typ: 'JWT', kid: es.kid }, claims(), 'AAAA'));
  }
  out['alg none, payload of a real token'] = bearer(`${base64url.encode(JSON.stringify({ alg: 'none' }))}.${goodPayload}.`);
  out['no alg at all'] = bearer(await signRaw(es, { typ: 'JWT', kid: es.kid }, claims()));
  out['alg as an array'] = bearer(await signRaw(es, { alg: ['ES256'], kid: es.kid }, claims()));

  // RS/HS confusion: HMAC keyed with the server's public keys (PEM, JWK JSON, raw modulus).
  out['HS256 keyed with the RSA public key PEM'] = bearer(await hs256(kit.rsaPublicPem, { kid: kit.keys.RS256.kid }));
  out['HS256 keyed with the RSA public key PEM, no kid'] = bearer(await hs256(kit.rsaPublicPem));
  out['HS256 keyed with the RSA JWK JSON'] = bearer(await hs256(JSON.stringify(kit.keys.RS256.publicJwk), { kid: kit.keys.RS256.kid }));
  out['HS256 keyed with the RSA modulus'] = bearer(await hs256(base64url.decode(kit.keys.RS256.publicJwk.n!), { kid: kit.keys.RS256.kid }));
  out['HS256 keyed with the EC public JWK JSON'] = bearer(await hs256(JSON.stringify(es.publicJwk), { kid: es.kid }));
  out['HS512 keyed with the RSA public key PEM'] = bearer(
    await new SignJWT(claims()).setProtectedHeader({ alg: 'HS512', kid: kit.keys.RS256.kid }).sign(new TextEncoder().encode(kit.rsaPublicPem.padEnd(64, ' '))),
  );
  out['ES256 signature relabelled RS256'] = bearer(`${base64url.encode(JSON.stringify({ alg: 'RS256', kid: kit.keys.RS256.kid }))}.${goodPayload}.${good.split('.')[2]}`);
  out['PS256 header over an ES256 signature'] = bearer(`${base64url.encode(JSON.stringify({ alg: 'PS256', kid: es.kid }))}.${goodPayload}.${good.split('.')[2]}`);

  // kid games: unknown, path traversal, SQL, NUL, huge, wrong type; signed by a trusted key.
  const kids: Array<[string, unknown]> = [
    ['unknown kid', 'not-a-key'],
    ['kid path traversal', '../../../../../../dev/null'],
    ['kid absolute path', '/etc/passwd'],
    ['kid file URL', 'file:///etc/passwd'],
    ['kid SQL text', "x' UNION SELECT 'secret' --"],
    ['kid SQL tautology', "' OR '1'='1"],
    ['kid with NUL', `${es.kid}\u0000`],
    ['kid huge', 'k'.repeat(4000)],
    ['kid number', 42],
    ['kid object', { $ne: null }],
  ];
  for (const [name, kid] of kids) out[name] = bearer(await sign(es, claims(), { kid: kid as string }));

  // Keys brought by the token itself: jku / x5u (must never be fetched), embedded jwk, x5c.
  const attackerJwk = await exportJWK(attacker.privateKey).then(({ d: _d, ...pub }) => pub);
  out['jku header to an attacker JWKS'] = bearer(await sign(attacker, claims(), { jku: jwksUrl }));
  out['jku header with a trusted kid'] = bearer(await sign(attacker, claims(), { jku: jwksUrl, kid: es.kid }));
  out['x5u header to an attacker URL'] = bearer(await sign(attacker, claims(), { x5u: jwksUrl }));
  out['embedded jwk header (attacker key)'] = bearer(await sign(attacker, claims(), { jwk: attackerJwk, kid: undefined }));
  out['embedded jwk header with a trusted kid'] = bearer(await sign(attacker, claims(), { jwk: attackerJwk, kid: es.kid }));
  out['x5c header (junk chain)'] = bearer(await sign(attacker, claims(), { x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] }));
  out['attacker key, trusted kid'] = bearer(await sign(attacker, claims(), { kid: es.kid }));

  // crit: an extension the server does not understand must be refused.
  out['unknown crit'] = bearer(await signRaw(es, { alg: 'ES256', kid: es.kid, crit: ['x-stella-unknown'], 'x-stella-unknown': true }, claims()));
  out['crit b64=false'] = bearer(await signRaw(es, { alg: 'ES256', kid: es.kid, crit: ['b64'], b64: false }, claims()));
  out['crit empty list'] = bearer(await signRaw(es, { alg: 'ES256', kid: es.kid, crit: [] }, claims()));
  out['crit not a list'] = bearer(await signRaw(es, { alg: 'ES256', kid: es.kid, crit: 'exp' }, claims()));

  // Time: expired beyond the 60 s skew, nbf beyond it, exp missing or of the wrong type.
  out['expired 2 minutes ago (beyond 60 s skew)'] = bearer(await sign(es, claims({ exp: now() - 120 })));
  out['expired a year ago'] = bearer(await sign(es, claims({ iat: now() - 400 * 86400, exp: now() - 365 * 86400 })));
  out['nbf 2 minutes ahead (beyond skew)'] = bearer(await sign(es, claims({ nbf: now() + 120 })));
  out['no exp'] = bearer(await sign(es, (({ exp: _e, ...c }) => c)(claims())));
  out['exp as a string'] = bearer(await sign(es, claims({ exp: String(now() + 600) as never })));
  out['exp "NaN"'] = bearer(await signRaw(es, { alg: 'ES256', kid: es.kid }, { ...claims(), exp: 'NaN' }));
  out['nbf as a string in the future'] = bearer(await signRaw(es, { alg: 'ES256', kid: es.kid }, { ...claims(), nbf: String(now() + 3600) }));
  out['exp null'] = bearer(await signRaw(es, { alg: 'ES256', kid: es.kid }, { ...claims(), exp: null }));
  out['payload a JSON array'] = bearer(await signRaw(es, { alg: 'ES256', kid: es.kid }, [claims()]));
  out['payload a JSON string'] = bearer(await signRaw(es, { alg: 'ES256', kid: es.kid }, 'admin'));

  // Issuer and audience.
  out['wrong iss'] = bearer(await sign(es, claims({ iss: 'https://evil.example' })));
  out['no iss'] = bearer(await sign(es, (({ iss: _i, ...c }) => c)(claims())));
  out['wrong aud'] = bearer(await sign(es, claims({ aud: 'another-service' })));
  out['aud list without ours'] = bearer(await sign(es, claims({ aud: ['a', 'b'] })));
  out['no aud'] = bearer(await sign(es, (({ aud: _a, ...c }) => c)(claims())));

  // Tampering and framing.
  const tampered = base64url.encode(JSON.stringify({ ...claims(), scope: 'orchestrator:admin', 'stellaops:tenant': ['*', 'root'] }));
  out['payload swapped under a valid signature'] = bearer(`${good.split('.')[0]}.${tampered}.${good.split('.')[2]}`);
  out['signature stripped'] = bearer(`${good.split('.')[0]}.${goodPayload}.`);
  out['signature of another token'] = bearer(`${good.split('.')[0]}.${goodPayload}.${(await sign(es, claims({ sub: 'x' }))).split('.')[2]}`);
  out['JWE-shaped (5 parts)'] = bearer(`${good}.AAAA.BBBB`);
  out['JSON serialization instead of compact'] = bearer(JSON.stringify({ payload: goodPayload, signatures: [] }));
  out['header not JSON'] = bearer(`${base64url.encode('not json')}.${goodPayload}.${good.split('.')[2]}`);
  out['header JSON array'] = bearer(`${base64url.encode('[]')}.${goodPayload}.${good.split('.')[2]}`);
  out['payload not JSON (validly signed)'] = bearer(
    await (async () => {
      const input = `${base64url.encode(JSON.stringify({ alg: 'ES256', kid: es.kid }))}.${base64url.encode('{{ not json')}`;
      const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, es.privateKey, new TextEncoder().encode(input));
      return `${input}.${base64url.encode(new Uint8Array(sig))}`;
    })(),
  );
  out['token of 12 KB (over the 8 KB cap)'] = bearer(`${good.split('.')[0]}.${base64url.encode(JSON.stringify({ ...claims(), pad: 'x'.repeat(9000) }))}.${good.split('.')[2]}`);
  out['Basic scheme'] = `Basic ${Buffer.from('admin:admin').toString('base64')}`;
  out['two bearer tokens'] = `Bearer ${good} Bearer ${good}`;
  out['bearer without token'] = 'Bearer';
  out['token only, no scheme'] = good;
  out['non-ASCII in the token'] = `Bearer ${good.slice(0, 10)}\u00e9${good.slice(10)}`;
  return out;
}

function req(method: string, path: string, authorization: string | null, tenant = 'alpha') {
  const headers: Record<string, string> = { 'x-stella-tenant': tenant };
  if (authorization !== null) headers.authorization = authorization;
  const init: RequestInit = { method, headers };
  if (takesBody(method)) {
    headers['content-type'] = 'application/json';
    init.body = '{}';
  }
  return fetch(t.url + BASE + path, init).then(async (res) => {
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: jsonOf(text), text };
  });
}

describe('every JWT attack of RFC 8725 is a 401 envelope on every route with a scope', () => {
  test('control: a correct token is accepted on every route (so the 401s below are the attacks\' doing)', async () => {
    const ok = `Bearer ${await sign(kit.keys.ES256, claims())}`;
    for (const r of routes) {
      if (r.path === '/runs/stream') continue; // a stream never ends; covered by the WebSocket case
      const res = await req(r.method, concrete(r), ok);
      assert.notEqual(res.status, 401, `${r.method} ${r.path}: ${res.text.slice(0, 200)}`);
      assert.ok(res.status < 500, `${r.method} ${r.path}: ${res.status}`);
    }
    for (const alg of ['EdDSA', 'RS256'] as const) {
      const res = await req('GET', '/dags', `Bearer ${await sign(kit.keys[alg], claims())}`);
      assert.equal(res.status, 200, `${alg} accepted`);
    }
    // Inside the 60 s skew: just expired, and nbf just ahead, are still accepted.
    assert.equal((await req('GET', '/dags', `Bearer ${await sign(kit.keys.ES256, claims({ exp: now() - 20 }))}`)).status, 200);
    assert.equal((await req('GET', '/dags', `Bearer ${await sign(kit.keys.ES256, claims({ nbf: now() + 20 }))}`)).status, 200);
  });

  test('each attack token on each route: 401 UNAUTHENTICATED, WWW-Authenticate Bearer, no key fetched', async () => {
    let cases = 0;
    let kinds = 0;
    for (const r of routes) {
      // Minted per route: the time attacks (nbf 2 minutes ahead) must stay beyond the 60 s skew
      // however long the walk over every route takes on a loaded machine.
      const all = await attacks();
      kinds = Object.keys(all).length;
      // All attacks on one route at once: also shows they do not interfere with each other.
      await Promise.all(
        Object.entries(all).map(async ([name, authz]) => {
          const res = await req(r.method, concrete(r), authz);
          const what = `${r.method} ${r.path} [${name}]`;
          assertEnvelope(res, 401, 'UNAUTHENTICATED', what);
          assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="orchestrator"/, `${what}: challenge`);
          assert.equal(res.body.error.details, undefined, `${what}: no details`);
          cases++;
        }),
      );
    }
    assert.equal(jwksHits, 0, 'the server fetched a key from a URL named in a token');
    console.log(`auth: ${kinds} attacks x ${routes.length} routes = ${cases} requests, all 401; attacker JWKS hits: ${jwksHits}`);
    await assertAlive(t, 'after the attacks');
  });

  test('no token: 401 with the bare challenge on every route that requires one (health stays a probe)', async () => {
    for (const r of routes) {
      if (r.path === '/runs/stream') continue;
      const res = await req(r.method, concrete(r), null);
      if (r.authOptional) {
        assert.equal(res.status, 200, `${r.path} answers probes without a token`);
        assert.deepEqual(Object.keys(res.body).sort(), ['ready', 'status'], 'a probe sees status and ready only');
        continue;
      }
      assertEnvelope(res, 401, 'UNAUTHENTICATED', `${r.method} ${r.path} without a token`);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="orchestrator"');
    }
  });

  test('the WebSocket upgrade of the event stream refuses attack tokens with a 401 envelope and challenge before upgrading', async () => {
    const all = await attacks();
    const names = ['alg "none" unsigned', 'HS256 keyed with the RSA public key PEM', 'jku header to an attacker JWKS', 'embedded jwk header (attacker key)', 'unknown crit', 'expired 2 minutes ago (beyond 60 s skew)', 'wrong aud'];
    for (const name of names) {
      const got = await new Promise<{ status: number; headers: Headers; text: string }>((resolve) => {
        const ws = new WebSocket(`${t.url.replace('http', 'ws')}${BASE}/runs/stream`, { headers: { authorization: all[name]!, 'x-stella-tenant': 'alpha' } });
        ws.once('unexpected-response', (_q, res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
            resolve({ status: res.statusCode ?? 0, headers, text });
          });
        });
        ws.once('open', () => {
          resolve({ status: 101, headers: new Headers(), text: '' });
          ws.close();
        });
        ws.once('error', () => resolve({ status: -1, headers: new Headers(), text: '' }));
      });
      const what = `WebSocket upgrade with [${name}]`;
      assertEnvelope({ ...got, body: jsonOf(got.text) }, 401, 'UNAUTHENTICATED', what);
      assert.match(got.headers.get('www-authenticate') ?? '', /^Bearer realm="orchestrator"/, `${what}: challenge`);
    }
    const okWs = new WebSocket(`${t.url.replace('http', 'ws')}${BASE}/runs/stream`, {
      headers: { authorization: `Bearer ${await sign(kit.keys.ES256, claims())}`, 'x-stella-tenant': 'alpha' },
    });
    await new Promise<void>((resolve, reject) => {
      okWs.once('open', () => resolve());
      okWs.once('error', reject);
    });
    okWs.close();
    assert.equal(jwksHits, 0);
  });

  test('a header beyond the HTTP parser\'s limit (64 KB token) is refused without a 5xx and the server lives on', async () => {
    const huge = `Bearer ${'a'.repeat(64 * 1024)}.b.c`;
    const res = await fetch(t.url + BASE + '/dags', { headers: { authorization: huge, 'x-stella-tenant': 'alpha' } }).catch((e: Error) => ({ status: 0, error: e }));
    assert.ok(res.status === 431 || res.status === 401 || res.status === 0, `status ${res.status}`);
    await assertAlive(t, 'after a 64 KB header');
  });
});
