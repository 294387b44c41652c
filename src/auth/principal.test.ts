import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createVerifier } from './verifier.js';
import { hasScope, parseScopes, parseTenants, principalFromClaims, tenantAllowed, type Principal } from './principal.js';
import { AUDIENCE, ISSUER, createTestKit, fixedClock, goodClaims, type TestKit } from './testkit.js';

const sorted = (s: ReadonlySet<string>): string[] => [...s].sort();
const R = 'orchestrator:read';
const W = 'orchestrator:write';
const A = 'orchestrator:admin';

test('scope: space separated string, unknown names ignored', () => {
  assert.deepEqual(sorted(parseScopes({ scope: `openid ${R}  profile` })), [R]);
  assert.deepEqual(sorted(parseScopes({ scope: 'orchestrator:READ orchestrator:* admin' })), []);
  assert.deepEqual(sorted(parseScopes({ scope: '' })), []);
  assert.deepEqual(sorted(parseScopes({})), []);
});

test('scp: array of strings (non-strings ignored), or a string', () => {
  assert.deepEqual(sorted(parseScopes({ scp: [W, 'x', 42, null] })), [R, W]);
  assert.deepEqual(sorted(parseScopes({ scp: R })), [R]);
  assert.deepEqual(sorted(parseScopes({ scp: { 0: A } })), []);
});

test('scope and scp together are merged', () => {
  assert.deepEqual(sorted(parseScopes({ scope: R, scp: [A] })), [A, R, W]);
});

test('implications: admin ⇒ write ⇒ read, never upwards', () => {
  assert.deepEqual(sorted(parseScopes({ scope: A })), [A, R, W]);
  assert.deepEqual(sorted(parseScopes({ scope: W })), [R, W]);
  assert.deepEqual(sorted(parseScopes({ scope: R })), [R]);
  const p = principalFromClaims({ exp: 1, scope: W });
  assert.equal(hasScope(p, R), true);
  assert.equal(hasScope(p, W), true);
  assert.equal(hasScope(p, A), false);
});

test('tenants: string, array, "*", invalid entries and malformed claims', () => {
  assert.deepEqual(parseTenants({ 'stellaops:tenant': 'demo' }), ['demo']);
  assert.deepEqual(parseTenants({ 'stellaops:tenant': ['b', 'a', 'b'] }), ['a', 'b']);
  assert.equal(parseTenants({ 'stellaops:tenant': '*' }), '*');
  assert.equal(parseTenants({ 'stellaops:tenant': ['a', '*'] }), '*');
  assert.deepEqual(parseTenants({ 'stellaops:tenant': ['Demo', '../x', '', 'ok', 7, 'a b'] }), ['ok']);
  assert.deepEqual(parseTenants({ 'stellaops:tenant': 'a b' }), []);
  assert.deepEqual(parseTenants({ 'stellaops:tenant': { '*': true } }), []);
  assert.deepEqual(parseTenants({ 'stellaops:tenant': 42 }), []);
  assert.deepEqual(parseTenants({ tenant: 'demo' }), []);
});

test('tenantAllowed: listed tenants only; "*" allows any valid tenant id, never an invalid one', () => {
  const p = principalFromClaims({ exp: 1, 'stellaops:tenant': ['a', 'b'] });
  assert.equal(tenantAllowed(p, 'a'), true);
  assert.equal(tenantAllowed(p, 'c'), false);
  assert.equal(tenantAllowed(p, 'A'), false);
  assert.equal(tenantAllowed(p, undefined), false);
  const all = principalFromClaims({ exp: 1, 'stellaops:tenant': '*' });
  assert.equal(tenantAllowed(all, 'anything'), true);
  assert.equal(tenantAllowed(all, '*'), false);
  assert.equal(tenantAllowed(all, '../etc'), false);
  assert.equal(tenantAllowed(all, ''), false);
  const none = principalFromClaims({ exp: 1 });
  assert.equal(tenantAllowed(none, 'a'), false);
});

test('subject falls back to client_id, then azp, then "unknown"; expiresAt is in ms', () => {
  assert.equal(principalFromClaims({ exp: 2, sub: 's', client_id: 'c' }).subject, 's');
  assert.equal(principalFromClaims({ exp: 2, client_id: 'c', azp: 'z' }).subject, 'c');
  assert.equal(principalFromClaims({ exp: 2, sub: '', azp: 'z' }).subject, 'z');
  assert.equal(principalFromClaims({ exp: 2, sub: 7 as unknown as string }).subject, 'unknown');
  assert.equal(principalFromClaims({ exp: 2 }).expiresAt, 2000);
});

let kit: TestKit;
before(async () => {
  kit = await createTestKit();
});
after(() => kit.cleanup());

test('end to end: scope/scp/tenant claims of a verified token', async () => {
  const v = createVerifier({ jwksFile: kit.jwksFile, issuer: ISSUER, audience: AUDIENCE, clock: fixedClock });
  const verify = async (extra: Record<string, unknown>): Promise<Principal> =>
    v.verify(`Bearer ${await kit.sign('EdDSA', goodClaims(extra))}`);

  const admin = await verify({ scope: undefined, scp: [A], 'stellaops:tenant': ['t1', 't2'] });
  assert.deepEqual(sorted(admin.scopes), [A, R, W]);
  assert.deepEqual(admin.tenants, ['t1', 't2']);

  const all = await verify({ scope: `${W} email`, 'stellaops:tenant': '*' });
  assert.deepEqual(sorted(all.scopes), [R, W]);
  assert.equal(all.tenants, '*');
  assert.equal(tenantAllowed(all, 'zeta'), true);

  const bare = await verify({ scope: undefined, 'stellaops:tenant': undefined });
  assert.equal(bare.scopes.size, 0);
  assert.deepEqual(bare.tenants, []);
});
