/**
 * Cross-cutting rules, checked by walking the route table: a route added to the table is
 * covered here the moment it exists.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, SignJWT, exportJWK } from 'jose';
import { startTestServer, BASE, type TestServer } from '../helpers/server.js';
import { isMutating, type RouteDef } from '../../src/http/index.js';
import { concrete, paramNames, queryKeys, SAMPLE, takesBody } from '../hostile/support.js';

let t: TestServer;
let routes: RouteDef[];

before(async () => {
  t = await startTestServer();
  routes = t.server.routes;
});
after(() => t.stop());

function assertEnvelope(res: { status: number; body: any; headers: Headers }, status: number, code: string, what: string) {
  assert.equal(res.status, status, `${what}: status`);
  assert.equal(res.body?.error?.code, code, `${what}: code`);
  assert.match(res.body.error.trace_id, /^[0-9a-f]{32}$/, `${what}: trace_id`);
  assert.equal(typeof res.body.error.message, 'string');
  assert.match(res.headers.get('traceparent') ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
  assert.equal(res.body.error.trace_id, res.headers.get('traceparent')!.split('-')[1], `${what}: trace ids agree`);
}

async function badTokens(): Promise<Record<string, string>> {
  const keys = t.server.devKeys!;
  const { privateKey } = await generateKeyPair('ES256');
  const good = (await t.token()).split('.');
  const iat = Math.floor(Date.now() / 1000);
  const claims = { scope: 'orchestrator:admin', 'stellaops:tenant': 'a' };
  const sign = (key: any, kid: string, o: { exp?: number | null; iss?: string; aud?: string } = {}) => {
    let j = new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid }).setIssuedAt(iat)
      .setIssuer(o.iss ?? keys.issuer).setAudience(o.aud ?? keys.audience);
    if (o.exp !== null) j = j.setExpirationTime(o.exp ?? iat + 600);
    return j.sign(key);
  };
  const devKey = (await import('node:crypto')).createPrivateKey(keys.privateKeyPem);
  const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url') + '.' + good[1] + '.';
  const tamperedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(good[1]!, 'base64url').toString()), 'stellaops:tenant': '*' })).toString('base64url');
  void exportJWK;
  return {
    'alg none': none,
    'unknown key': await sign(privateKey, keys.kid),
    'unknown kid': await sign(devKey, 'not-a-kid'),
    expired: await sign(devKey, keys.kid, { exp: iat - 3600 }),
    'no exp': await sign(devKey, keys.kid, { exp: null }),
    'wrong aud': await sign(devKey, keys.kid, { aud: 'someone-else' }),
    'wrong iss': await sign(devKey, keys.kid, { iss: 'someone-else' }),
    tampered: `${good[0]}.${tamperedPayload}.${good[2]}`,
    garbage: 'not-a-jwt',
  };
}

test('every authenticated route answers 401 with the envelope for each bad token kind', async () => {
  const bad = await badTokens();
  for (const r of routes.filter((r) => r.scope !== null)) {
    const res = await t.req(r.method, concrete(r), { token: null });
    if (r.authOptional) {
      assert.ok(res.status < 400, `${r.method} ${r.path} without token is allowed`);
      continue;
    }
    assertEnvelope(res, 401, 'UNAUTHENTICATED', `${r.method} ${r.path} no token`);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    for (const [kind, token] of Object.entries(bad)) {
      const res2 = await t.req(r.method, concrete(r), { token });
      assertEnvelope(res2, 401, 'UNAUTHENTICATED', `${r.method} ${r.path} ${kind}`);
      assert.match(res2.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
  }
});

test('every tenant-scoped route requires X-Stella-Tenant and a tenant the token allows', async () => {
  for (const r of routes.filter((r) => r.tenant)) {
    assertEnvelope(await t.req(r.method, concrete(r), { tenant: null, token: await t.token() }), 403, 'TENANT_REQUIRED', `${r.path} no tenant`);
    assertEnvelope(await t.req(r.method, concrete(r), { tenant: 'b', token: await t.token({ tenants: ['a'] }) }), 403, 'TENANT_FORBIDDEN', `${r.path} other tenant`);
    assertEnvelope(await t.req(r.method, concrete(r), { tenant: 'BAD/..', token: await t.token({ tenants: ['*'] }) }), 403, 'TENANT_FORBIDDEN', `${r.path} invalid tenant id`);
  }
});

test('every route refuses a token without its scope (optional auth too: a token is checked when sent)', async () => {
  const below = { 'orchestrator:read': [], 'orchestrator:write': ['orchestrator:read'], 'orchestrator:admin': ['orchestrator:read', 'orchestrator:write'] } as const;
  const scoped = routes.filter((r) => r.scope !== null);
  assert.ok(scoped.length >= 10, `${scoped.length} scoped routes`);
  for (const r of scoped) {
    for (const scopes of [...below[r.scope!].map((s) => [s]), []]) {
      const res = await t.req(r.method, concrete(r), { token: await t.token({ scopes }), tenant: 'a' });
      assertEnvelope(res, 403, 'INSUFFICIENT_SCOPE', `${r.method} ${r.path} with [${scopes}]`);
      assert.equal(res.body.error.details?.required, r.scope, `${r.method} ${r.path}: names the scope it needs`);
    }
  }
});

test('every mutating route validates Idempotency-Key', async () => {
  for (const r of routes.filter(isMutating)) {
    for (const key of ['', 'x'.repeat(256), 'caf\u00e9', 'tab\there']) {
      const res = await t.req(r.method, concrete(r), { headers: { 'idempotency-key': key }, body: {} });
      assertEnvelope(res, 400, 'VALIDATION_FAILED', `${r.path} key ${JSON.stringify(key).slice(0, 20)}`);
    }
  }
});

test('every POST and PUT refuses a body that is not JSON, too large, or too deep', async () => {
  const withBody = routes.filter((r) => takesBody(r.method));
  assert.ok(withBody.some((r) => r.method === 'PUT'), 'PUT routes are walked');
  for (const r of withBody) {
    const what = `${r.method} ${r.path}`;
    assertEnvelope(await t.req(r.method, concrete(r), { rawBody: 'a=1', headers: { 'content-type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE', `${what} text`);
    assertEnvelope(await t.req(r.method, concrete(r), { rawBody: '{"a":', headers: { 'content-type': 'application/json' } }), 400, 'VALIDATION_FAILED', `${what} malformed`);
    assertEnvelope(await t.req(r.method, concrete(r), { rawBody: '['.repeat(100) + ']'.repeat(100), headers: { 'content-type': 'application/json' } }), 400, 'VALIDATION_FAILED', `${what} deep`);
    const big = JSON.stringify({ pad: 'x'.repeat(5 * 1024 * 1024) });
    assertEnvelope(await t.req(r.method, concrete(r), { rawBody: big, headers: { 'content-type': 'application/json' } }), 413, 'PAYLOAD_TOO_LARGE', `${what} big`);
  }
});

test('every list route rejects a forged page token and an oversized page', async () => {
  const lists = routes.filter((r) => r.method === 'GET' && queryKeys(r).includes('page_token'));
  assert.ok(['/dags', '/runs', '/runs/{runId}/steps'].every((p) => lists.some((r) => r.path === p)), `the paginated lists are walked: ${lists.map((r) => r.path)}`);
  for (const r of lists) {
    assertEnvelope(await t.req('GET', concrete(r) + '?page_token=abc.def'), 400, 'INVALID_PAGE_TOKEN', `${r.path} forged`);
    const big = await t.req('GET', concrete(r) + '?page_size=501');
    assertEnvelope(big, 400, 'VALIDATION_FAILED', `${r.path} page_size`);
    assert.equal(big.body.error.details.field, 'query.page_size');
  }
});

/** A valid value for each query parameter of the API (a new parameter needs one here). */
const QUERY_SAMPLE: Record<string, string> = {
  dagId: 'no-such-dag',
  scheduleId: 'no-such-schedule',
  paused: 'true',
  active: 'true',
  status: 'queued',
  from: '2026-01-01T00:00:00.000Z',
  to: '2026-01-02T00:00:00.000Z',
  since: '1',
  runId: '0190b5a0-0000-7000-8000-000000000000',
  page_size: '5',
  page_token: 'abc.def',
};

/** Status of a GET without reading the body (streams never end). */
async function statusOf(path: string): Promise<{ status: number; body: any }> {
  const ac = new AbortController();
  const res = await fetch(t.url + BASE + path, { signal: ac.signal, headers: { authorization: `Bearer ${await t.token()}`, 'x-stella-tenant': 'a' } });
  const body = res.status >= 400 ? await res.json() : undefined;
  ac.abort();
  return { status: res.status, body };
}

test('every query parameter given twice is 400 VALIDATION_FAILED naming it; given once it is accepted', async () => {
  let checked = 0;
  for (const r of routes.filter((r) => r.method === 'GET')) {
    for (const key of queryKeys(r)) {
      const value = QUERY_SAMPLE[key];
      assert.ok(value !== undefined, `QUERY_SAMPLE needs a valid value for ${key} (${r.path})`);
      const q = (v: string) => `${concrete(r)}?${key}=${encodeURIComponent(v)}`;
      const once = await statusOf(q(value));
      assert.notEqual(once.body?.error?.details?.field, `query.${key}`, `${r.path}?${key}=${value} alone is valid`);
      for (const second of [value, 'abc']) {
        const twice = await t.req('GET', `${q(value)}&${key}=${encodeURIComponent(second)}`);
        assertEnvelope(twice, 400, 'VALIDATION_FAILED', `${r.path} ${key} twice`);
        assert.equal(twice.body.error.details.field, `query.${key}`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 20, `${checked} repeated parameters checked`);
});

test('a path has one set of methods: every other method is 405 with exactly that Allow (custom verbs too)', async () => {
  for (const r of routes) {
    const path = concrete(r);
    const allowed = [...new Set(routes.filter((x) => concrete(x) === path).map((x) => x.method as string))].sort();
    for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'OPTIONS', 'DELETE'].filter((m) => !allowed.includes(m))) {
      const res = await t.req(m, path, takesBody(m) ? { body: {} } : {});
      assertEnvelope(res, 405, 'METHOD_NOT_ALLOWED', `${m} ${r.path}`);
      assert.deepEqual(res.headers.get('allow')!.split(', ').sort(), allowed, `${m} ${r.path}: Allow`);
    }
  }
  // A custom verb is no part of the id before it: GET on `…:cancel` is not "run not found",
  // whether or not the id is well formed; POST there is the cancel (and its 404).
  for (const id of [SAMPLE.runId, 'not-a-run-id']) {
    for (const m of ['GET', 'OPTIONS']) {
      const res = await t.req(m, `/runs/${id}:cancel`);
      assertEnvelope(res, 405, 'METHOD_NOT_ALLOWED', `${m} /runs/${id}:cancel`);
      assert.equal(res.headers.get('allow'), 'POST');
    }
    const post = await t.req('POST', `/runs/${id}:cancel`, { body: {} });
    assertEnvelope(post, 404, 'NOT_FOUND', `POST /runs/${id}:cancel`);
    assert.equal(post.body.error.message, 'run not found');
  }
});

test('a malformed path parameter is the same 404 as a well-formed id that does not exist (no id is probed by its form)', async () => {
  const walked: string[] = [];
  // Routes whose body `{}` is valid, so that the handler looks the id up (PUT's body is checked
  // first; its parameters are those of the GET on the same path).
  for (const r of routes.filter((x) => paramNames(x).length > 0 && (!x.body || x.body.safeParse({}).success))) {
    // The first parameter is the one a handler looks up first: its missing answer is the baseline.
    const first = paramNames(r)[0]!;
    const body = r.body ? { body: {} } : {};
    const missing = await t.req(r.method, concrete(r), body);
    const malformed = await t.req(r.method, concrete(r, { [first]: 'NOT..a_valid-id' }), body);
    assertEnvelope(missing, 404, 'NOT_FOUND', `${r.method} ${r.path} missing`);
    assertEnvelope(malformed, 404, 'NOT_FOUND', `${r.method} ${r.path} malformed ${first}`);
    assert.equal(malformed.body.error.message, missing.body.error.message, `${r.method} ${r.path}: a malformed ${first} answers like a missing one`);
    walked.push(r.path);
  }
  assert.ok(walked.includes('/schedules/{scheduleId}') && walked.includes('/runs/{runId}/artifacts'), `the new routes are walked: ${walked}`);
});

test('unknown paths are 404 and wrong methods 405, both in the envelope', async () => {
  assertEnvelope(await t.req('GET', '/nope'), 404, 'NOT_FOUND', 'unknown path');
  assertEnvelope(await t.req('GET', '/api/v1/other'), 404, 'NOT_FOUND', 'outside base');
  for (const r of routes) {
    // A method no route answers on this concrete path (GET, PUT and DELETE share
    // /schedules/{scheduleId}, whose template also matches /schedules/x:pause).
    const path = concrete(r);
    const answers = (x: (typeof routes)[number]) => new RegExp(`^${x.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path);
    const other = ['DELETE', 'PUT', 'PATCH'].find((m) => !routes.some((x) => x.method === m && answers(x)))!;
    const res = await t.req(other, path);
    assertEnvelope(res, 405, 'METHOD_NOT_ALLOWED', `${other} ${r.path}`);
    assert.ok(res.headers.get('allow')?.includes(r.method));
  }
});

test('every route is in the OpenAPI document, and every documented path is routed', async () => {
  const res = await t.req('GET', '/openapi.json', { token: null, tenant: null });
  assert.equal(res.status, 200);
  assert.equal(res.body.openapi, '3.1.0');
  assert.deepEqual(res.body.servers.map((s: { url: string }) => s.url), [BASE], 'paths are relative to the base path');
  const documented = new Set<string>();
  for (const [p, ops] of Object.entries(res.body.paths as Record<string, Record<string, unknown>>)) {
    for (const m of Object.keys(ops)) documented.add(`${m.toUpperCase()} ${BASE}${p}`);
  }
  const routed = new Set(routes.map((r) => `${r.method} ${BASE}${r.path}`));
  assert.deepEqual([...routed].sort(), [...documented].sort());
});

test('traceparent is continued when valid and replaced when not', async () => {
  const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const res = await t.req('GET', '/dags', { headers: { traceparent: tp } });
  assert.equal(res.headers.get('traceparent')!.split('-')[1], '4bf92f3577b34da6a3ce929d0e0e4736');
  for (const bad of ['garbage', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']) {
    const r2 = await t.req('GET', '/dags', { headers: { traceparent: bad } });
    assert.equal(r2.status, 200);
    assert.notEqual(r2.headers.get('traceparent')!.split('-')[1], '4bf92f3577b34da6a3ce929d0e0e4736');
  }
});

test('every answer of a route that takes a token is private: Cache-Control private (never public), Vary: Authorization, X-Stella-Tenant', async () => {
  // Headers only: the stream route would stream forever, so the body is dropped unread.
  const headersOf = async (method: string, path: string, auth: string | null, tenant: string | null) => {
    const headers: Record<string, string> = {};
    if (auth !== null) headers.authorization = `Bearer ${auth}`;
    if (tenant !== null) headers['x-stella-tenant'] = tenant;
    let body: string | undefined;
    if (takesBody(method)) {
      headers['content-type'] = 'application/json';
      body = '{}';
    }
    const res = await fetch(t.url + BASE + path, { method, headers, body });
    await res.body?.cancel();
    return { status: res.status, h: res.headers };
  };
  const admin = await t.token({ tenants: ['a'] });
  const seen = new Set<number>();
  for (const r of routes.filter((r) => r.scope !== null)) {
    for (const [auth, tenant, what] of [[null, 'a', 'no token'], ['garbage', 'a', 'bad token'], [admin, 'b', 'other tenant'], [admin, null, 'no tenant'], [admin, 'a', 'good token']] as const) {
      const { status, h } = await headersOf(r.method, concrete(r), auth, tenant);
      seen.add(status);
      const where = `${r.method} ${r.path} (${what}: ${status})`;
      const cc = h.get('cache-control') ?? '';
      assert.match(cc, /(^|,\s*)private(\s*,|$)/, `${where}: Cache-Control "${cc}" says private`);
      assert.doesNotMatch(cc, /public|s-maxage/i, `${where}: Cache-Control "${cc}" allows no shared cache`);
      const vary = (h.get('vary') ?? '').split(',').map((v) => v.trim().toLowerCase());
      assert.ok(vary.includes('authorization') && vary.includes('x-stella-tenant'), `${where}: Vary "${h.get('vary')}"`);
    }
  }
  assert.ok(seen.has(200) && seen.has(401) && seen.has(403) && seen.has(404), `successes and errors were walked (${[...seen]})`);
  // Routes without a token (the OpenAPI document) are not made private.
  const doc = await headersOf('GET', '/openapi.json', null, null);
  assert.doesNotMatch(doc.h.get('vary') ?? '', /authorization/i);
});
